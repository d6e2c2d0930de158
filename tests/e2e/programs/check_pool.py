# multiprocessing.Pool with 3 workers; every task keeps 1.2 MB alive in its worker until the
# worker exits (close + join, so workers leave normally and write their snapshots).
import multiprocessing

KEEP = []


def work(i):
    KEEP.append(bytes(1_200_000))  # WORKER_LINE
    return i


if __name__ == "__main__":
    pool = multiprocessing.Pool(3)
    print(sum(pool.map(work, range(6), chunksize=1)))
    pool.close()
    pool.join()
