"""The data pool (一数一源): field authority, the person master and its history, households,
conflicts between departments, the resource catalogue and the Parquet publication."""
