"""The reply corpus: replies as customers write them, each with the label a careful reader
gives it. Read by the classifier's tests and by `bench/bench_classifier.py`."""

from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).with_name("replies.tsv")
LABELS = ("yes", "no", "unclear")
MODES = ("resolved", "ack")  # ack: the answer to a "cannot fulfil" message


@dataclass(frozen=True)
class Sample:
    label: str
    mode: str
    text: str
    line: int

    @property
    def acknowledging(self) -> bool:
        return self.mode == "ack"


def load(path: Path = CORPUS) -> list[Sample]:
    samples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line or line.startswith("#"):
            continue
        label, mode, text = line.split("\t", 2)
        if label not in LABELS or mode not in MODES:
            raise ValueError(f"{path.name}:{number}: bad label or mode {label!r} {mode!r}")
        samples.append(Sample(label, mode, text.replace("\\n", "\n"), number))
    return samples
