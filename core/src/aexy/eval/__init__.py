"""``aexy eval``: how true a provider's answers are, measured on labelled real code.

=============  ======================================================================
module         holds
=============  ======================================================================
``dataset``    the shipped labelled set (``data/``): real files with their origin and licence,
               mechanically derived labels, a ``dev`` and a held-out ``test`` split
``scoring``    per-field scores of answers against labels: accuracy, precision, recall, and
               the agreement of confidence with correctness
``runner``     running a contender (provider, model, prompt directory) over the cases through
               the gateway; recording its answers, or replaying recorded ones
=============  ======================================================================

The command is :mod:`aexy.cli.eval`; ``docs/evaluation.md`` holds the figures.
"""

from __future__ import annotations

from aexy.eval.dataset import Case, load_cases
from aexy.eval.runner import Contender, run_eval
from aexy.eval.scoring import Report, score_cases

__all__ = ["Case", "Contender", "Report", "load_cases", "run_eval", "score_cases"]
