# One site allocating 20 MB in blocks of varied sizes, kept alive; the sampled estimate for
# that line must be within 5% of the exact figure.
import random

random.seed(7)
blobs = [bytes(random.randint(16, 4000)) for _ in range(10_000)]  # BLOBS
print(sum(len(b) for b in blobs))
