"""Math accuracy engine: extract → normalize → parse → compare, run in a process pool with hard deadlines.

Public API: extract_answer, verify, VerifyConfig, Verdict, MathWorkerPool.
"""

from app.math.compare import DEFAULT_CONFIG, Verdict, VerifyConfig, verify
from app.math.extract import Extraction, extract_answer

__all__ = ["DEFAULT_CONFIG", "Extraction", "MathWorkerPool", "Verdict", "VerifyConfig", "extract_answer", "verify"]


def __getattr__(name: str):
    # workers.py pulls in asyncio machinery; import it on first use
    if name == "MathWorkerPool":
        from app.math.workers import MathWorkerPool

        return MathWorkerPool
    raise AttributeError(name)
