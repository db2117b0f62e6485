"""The inbox sensor: a department file arrives, its month's landing asset runs.

Files are known by the SHA-256 of their content, never by modification time: a corrected file
re-sent under the same name, or a file copied from a USB stick with a 2022 mtime, is new
because its content is new, and an identical re-upload is a logged no-op. The cursor is what
was actually requested: a map of file name to content hash.
"""

import json

import dagster as dg

from assets.partitions import monthly
from onceonly.contracts import feed_for_file
from onceonly.extracts.ingest import period_of_file
from onceonly.extracts.reading import sha256_of
from onceonly.inbox import inbox_files
from onceonly.settings import data_folder


def _landing_key(feed_id: str) -> dg.AssetKey:
    return dg.AssetKey(["landing", feed_id])


@dg.sensor(
    name="inbox_arrivals",
    description="Watches the data folder's inbox and runs the landing asset of the matching "
    "feed and month for every file whose content has not been requested before.",
    asset_selection=dg.AssetSelection.key_prefixes(["landing"]),
    minimum_interval_seconds=60,
)
def inbox_arrivals(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    """One run request per new content hash in the inbox; the cursor maps name -> hash."""
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    inbox = data_folder().inbox
    requests: list[dg.RunRequest] = []
    requested_hashes = set(seen.values())
    accepted, skipped = inbox_files(inbox)
    for entry in skipped:
        context.log.warning(f"Inbox entry '{entry.name_shown}' is not read: {entry.reason}.")
    for path in accepted:
        feed = feed_for_file(path.name)
        period = period_of_file(path.name)
        if feed is None or period is None or not monthly.has_partition_key(period):
            context.log.info(f"{path.name} matches no feed with a month; it is left alone.")
            continue
        sha = sha256_of(path)
        if sha in requested_hashes:
            if seen.get(path.name) != sha:
                seen[path.name] = sha
            context.log.info(f"{path.name} has content already requested ({sha[:12]}); "
                             "nothing to do.")
            continue
        earlier = seen.get(path.name)
        tags = {"onceonly/file": path.name, "onceonly/sha256": sha}
        if earlier:
            tags["onceonly/replaces_sha256"] = earlier
        requests.append(dg.RunRequest(
            run_key=f"{path.name}:{sha}",
            asset_selection=[_landing_key(feed.id)],
            partition_key=period,
            tags=tags,
        ))
        seen[path.name] = sha
        requested_hashes.add(sha)
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, ensure_ascii=False,
                                                                   sort_keys=True))
