"""Reply classifier: precision and recall of "yes" on the reply corpus, per mode.

Usage: python bench/bench_classifier.py
Reads tests/data/replies/replies.tsv (replies labelled yes/no/unclear by a careful reader, in
the "is it resolved?" mode and in the acknowledgement of a "cannot fulfil" answer), classifies
each, and prints for each mode the confusion counts (label -> verdict), the precision and
recall of yes, the rules that decided, and every false yes and missed yes. Precision is the
figure that matters: a false yes closes an unresolved complaint. Exits 1 on any false yes.
"""

import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.confirmation.classifier import Verdict, read_reply
from tests.data.replies import LABELS, MODES, load


def _ratio(part: int, whole: int) -> str:
    return f"{part / whole:.3f}" if whole else "n/a"


def main() -> int:
    samples = load()
    start = time.perf_counter()
    readings = [(s, read_reply(s.text, s.acknowledging)) for s in samples]
    elapsed = time.perf_counter() - start
    print(f"{len(samples)} replies, {elapsed * 1e6 / len(samples):.0f} µs per reply")
    false_yes_total = 0
    for mode in MODES:
        these = [(s, r) for s, r in readings if s.mode == mode]
        confusion = Counter((s.label, r.verdict.value) for s, r in these)
        true_yes = confusion[("yes", "yes")]
        said_yes = sum(n for (_, verdict), n in confusion.items() if verdict == "yes")
        labelled_yes = sum(n for (label, _), n in confusion.items() if label == "yes")
        false_yes = [s for s, r in these if r.verdict == Verdict.yes and s.label != "yes"]
        missed = [(s, r) for s, r in these if s.label == "yes" and r.verdict != Verdict.yes]
        false_yes_total += len(false_yes)
        name = "acknowledgement" if mode == "ack" else "resolution"
        print(f"\n== {name} mode: {len(these)} replies")
        print("label \\ verdict " + "".join(f"{v:>9}" for v in LABELS))
        for label in LABELS:
            row = "".join(f"{confusion[(label, v)]:>9}" for v in LABELS)
            print(f"{label:<16}{row}")
        print(
            f"yes precision {_ratio(true_yes, said_yes)} ({true_yes}/{said_yes})   "
            f"yes recall {_ratio(true_yes, labelled_yes)} ({true_yes}/{labelled_yes})   "
            f"false yes {len(false_yes)}   missed yes {len(missed)}"
        )
        rules = Counter(r.rule for _, r in these)
        print("rules: " + ", ".join(f"{rule} {n}" for rule, n in rules.most_common()))
        for s in false_yes:
            print(f"  FALSE YES line {s.line}: {s.text!r}")
        for s, r in missed:
            print(f"  missed yes line {s.line}: {s.text!r} ({r.rule}: {r.words!r})")
    return 1 if false_yes_total else 0


if __name__ == "__main__":
    sys.exit(main())
