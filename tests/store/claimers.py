"""Several claimers draining one queue at once, as threads of one server or as separate processes."""

import multiprocessing
import threading

TIMEOUT = 300  # the lease the claimers take, in seconds


def claim_in_threads(store, count: int, cap: int = 0) -> list[str]:
    """`count` threads claim until nothing is claimable; the task ids they got, in claim order."""
    claimed, errors = [], []

    def worker(name):
        try:
            while (job := store.claim_job(name, TIMEOUT, cap)) is not None:
                claimed.append(job.task_id)
        except Exception as exc:  # pylint: disable=broad-exception-caught  # reported below, not lost in a thread
            errors.append(exc)
        finally:
            store.close()  # this thread's connection

    threads = [threading.Thread(target=worker, args=(f"w{n}",)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return claimed


def _claim_all(url: str, name: str, cap: int, out) -> None:
    """A separate process with its own Store, as a second server or worker would have."""
    from cynode.store.store import Store  # pylint: disable=import-outside-toplevel  # fresh in the child

    store = Store(url)
    try:
        while (job := store.claim_job(name, TIMEOUT, cap)) is not None:
            out.put(job.task_id)
    finally:
        store.close()
        out.put(None)


def claim_in_processes(url: str, count: int, cap: int = 0) -> list[str]:
    """`count` processes claim until nothing is claimable; the task ids they got."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    processes = [context.Process(target=_claim_all, args=(url, f"p{n}", cap, out)) for n in range(count)]
    for process in processes:
        process.start()
    claimed, finished = [], 0
    while finished < len(processes):
        item = out.get(timeout=60)
        finished += item is None
        if item is not None:
            claimed.append(item)
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    return claimed
