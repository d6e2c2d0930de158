# Builds and frees about 500 MB, then keeps something small: the peak snapshot shows the
# 500 MB at the BIG line, the exit snapshot does not.
def build():
    big = [bytearray(10_000) for _ in range(50_000)]  # BIG
    return sum(len(b) for b in big)


total = build()
small = [bytes(100) for _ in range(1000)]  # SMALL
print(total)
