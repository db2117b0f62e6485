"""Forms issued with data (带数下发), filled once and read back (只报一次).

``catalogue`` reads the form definitions in contracts/forms; ``governance`` decides which forms
may be issued for a month; ``issuing`` fills and writes the workbooks; ``returns`` recognises,
checks and loads returned workbooks and raises correction requests; ``assessment`` reviews a
proposed form against the pool and the catalogue.
"""
