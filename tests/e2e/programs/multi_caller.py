"""Allocations at one line reached from alternating call paths of different depths: per-path
counts with several frames (the multi-frame walk memo must follow every change of path)."""
N = 3000
keep = [None] * N


def leaf(i):
    keep[i] = b"x" * (100 + (i & 7))  # LEAF


def via_a(i):
    leaf(i)  # CALL_A


def via_c(i):
    leaf(i)  # CALL_C


def via_b(i):
    via_c(i)  # CALL_B


def main():
    for i in range(N):
        if i % 3 == 0:
            via_b(i)  # MAIN_B
        elif i % 3 == 1:
            via_a(i)  # MAIN_A1
        else:
            via_a(i)  # MAIN_A2


main()  # TOP
