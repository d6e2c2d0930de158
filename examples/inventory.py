"""A deterministic program that keeps a dozen kinds of Python data alive, each built on its
own line: a shop's inventory held the way plain Python code usually holds it.

    ./heapshape run -- python3 examples/inventory.py
    ./heapshape stats heapshape-inventory-<pid>.hsnap --include '*inventory.py'
"""


class Item:
    def __init__(self, sku, price, qty):
        self.sku = sku
        self.price = price
        self.qty = qty


N = 200_000

skus = ["SKU-%07d" % i for i in range(N)]                      # strings
prices = [round(1.0 + (i % 1000) * 0.25, 2) for i in range(N)]  # boxed floats
quantities = [i * 7 % 5000 for i in range(N)]                   # ints (most outside the small-int cache)
items = [Item(s, p, q) for s, p, q in zip(skus, prices, quantities)]  # class instances
by_sku = {it.sku: it for it in items}                           # one big dict
rows = [(s, p, q) for s, p, q in zip(skus, prices, quantities)]  # tuples
records = [{"sku": s, "price": p} for s, p in zip(skus[:50_000], prices)]  # small dicts
tags = [set(("a%d" % (i % 7), "b%d" % (i % 11))) for i in range(20_000)]  # small sets
blobs = [bytes(64 + i % 64) for i in range(20_000)]             # bytes objects
matrix = [[i * j for j in range(20)] for i in range(5_000)]     # lists of lists
buffer = bytearray(3_000_000)                                    # one large buffer
text = "\n".join(skus[:100_000])                                 # one long string

print(len(items), len(by_sku), len(rows), len(records), len(tags), len(blobs),
      len(matrix), len(buffer), len(text))
