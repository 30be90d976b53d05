"""How Azurite's costs grow with what it holds — to tell its limits from calsync's at size.

    .venv/bin/python -m bench.azurite_scaling [--sizes 1000,5000,20000]

A fresh Azurite in memory. For each size: a table of that many entities (in one partition,
and in a partition each) with 200 point reads and 200 upserts timed; and a queue with that
many messages waiting, 200 of them received and deleted one by one (what a queue trigger
does). Found while running bench.capacity with an org of 20,000: its subscription renewals
went ~3.5 a second, the host and the emulator nearly idle and Azurite at a full core.
"""

from __future__ import annotations

import argparse
import time

from azure.data.tables import TableServiceClient
from azure.storage.queue import QueueClient

from devtools.services import start_azurite

SAMPLE = 200


def table_costs(service: TableServiceClient, n: int, spread: bool) -> tuple[float, float]:
    """Milliseconds per point read and per upsert in a table of n entities."""
    table = service.create_table(f"t{n}{'each' if spread else 'one'}")
    keys = [(f"p{i:06}" if spread else "p", f"r{i:06}") for i in range(n)]
    if spread:
        for pk, rk in keys:
            table.upsert_entity({"PartitionKey": pk, "RowKey": rk, "v": 0})
    else:
        for i in range(0, n, 100):
            table.submit_transaction(
                [("upsert", {"PartitionKey": pk, "RowKey": rk, "v": 0}) for pk, rk in keys[i : i + 100]]
            )
    sample = keys[:: max(1, n // SAMPLE)][:SAMPLE]
    began = time.perf_counter()
    for pk, rk in sample:
        table.get_entity(pk, rk)
    read = time.perf_counter() - began
    began = time.perf_counter()
    for pk, rk in sample:
        table.upsert_entity({"PartitionKey": pk, "RowKey": rk, "v": 1})
    write = time.perf_counter() - began
    return read / len(sample) * 1000, write / len(sample) * 1000


def queue_cost(connection: str, n: int) -> float:
    """Milliseconds per message received and deleted with n messages waiting."""
    queue = QueueClient.from_connection_string(connection, f"q{n}")
    queue.create_queue()
    for i in range(n):
        queue.send_message(f"m{i}")
    began, done = time.perf_counter(), 0
    while done < SAMPLE:
        for message in queue.receive_messages(messages_per_page=16, max_messages=16):
            queue.delete_message(message)
            done += 1
    return (time.perf_counter() - began) / done * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,5000,20000")
    sizes = [int(s) for s in parser.parse_args().sizes.split(",")]
    azurite = start_azurite()
    try:
        connection = azurite.env["AzureWebJobsStorage"]
        service = TableServiceClient.from_connection_string(connection)
        for n in sizes:
            for spread in (False, True):
                read, write = table_costs(service, n, spread)
                where = "a partition each" if spread else "one partition"
                print(
                    f"table, {n:>6,} entities in {where:<16}  point read {read:6.2f} ms  upsert {write:6.2f} ms",
                    flush=True,
                )
            print(
                f"queue, {n:>6,} messages waiting                 receive+delete {queue_cost(connection, n):7.2f} ms",
                flush=True,
            )
    finally:
        azurite.stop()


if __name__ == "__main__":
    main()
