"""The Dagster code location loads, and every asset has what an analyst needs to read it."""

import dagster as dg

from pipelines.definitions import defs


def test_definitions_load():
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.asset_graph.get_all_asset_keys()}
    assert {"landing/household_register", "landing/death_registry", "pool/person",
            "sentinel/aid_alerts", "forms/issued_workbooks", "forms/returned_workbooks"} <= keys
    assert {s.name for s in repo.schedule_defs} >= {"nightly", "before_payment"}


def test_every_asset_is_described_and_every_warehouse_asset_is_pooled():
    repo = defs.get_repository_def()
    for key in repo.asset_graph.get_all_asset_keys():
        node = repo.asset_graph.get(key)
        assert node.description, f"{key.to_user_string()} has no description"
        assets_def = node.assets_def
        assert assets_def.partitions_def is None or isinstance(
            assets_def.partitions_def, dg.TimeWindowPartitionsDefinition)
    pools = {n.pool for n in repo.get_all_jobs()[0].graph.node_defs if getattr(n, "pool", None)}
    assert pools == {"warehouse"}
