"""test_freelist.py on the older interpreters (3.8, 3.9, 3.10, shared 3.11): the same
programs and assertions, a separate Bazel target so that each stays inside its time limit."""
import test_freelist


class FreeListReuseOlder(test_freelist.FreeListReuse):
    def interpreters(self):
        return test_freelist.OLDER

