"""A repository with the shapes of a real team's history, rule by rule: a lead who owns the
API over two years, a newcomer on the web front end, someone who left half a year before the
end, someone long gone whose directory was deleted, a bot, a second address under the same
name, a contributor who only committed an image, and a directory renamed."""

from __future__ import annotations

from datetime import date, timedelta

from .repos import Commit, lines

END = date(2024, 6, 28)  # a Friday: the last commit of the history
ANN, ANN_HOME = "ann@corp.example", "ann@home.example"
DAN, BEN, CAT = "dan@corp.example", "ben@corp.example", "cat@corp.example"
PIX = "pix@corp.example"
BOT = "49699333+dependabot[bot]@users.noreply.github.com"


def _at(days_before_end: int, hour: int = 10) -> str:
    day = END - timedelta(days=days_before_end)
    return f"{day}T{hour:02d}:00:00+00:00"


def population_commits() -> list[Commit]:
    out: list[Commit] = []
    # Cat, long gone: a tools/ directory three years ago, deleted later by Ann.
    out.append(Commit("Cat Old", CAT, _at(1100), {"tools/gen.py": lines(30, "t{i} = {i}")}))
    out.append(Commit("Cat Old", CAT, _at(1090), {"tools/gen.py": lines(35, "t{i} = {i}")}))
    # Ann, two years on the API (first under lib/, renamed to api/), from two addresses.
    out.append(Commit("Ann Lead", ANN_HOME, _at(730), {"lib/client.py": lines(40)}))
    for i, days in enumerate(range(700, 0, -50)):
        out.append(Commit("Ann Lead", ANN, _at(days),
                          {"lib/client.py" if days > 400 else "api/client.py":
                           lines(40 + 5 * i),
                           "lib/transport.py" if days > 400 else "api/transport.py":
                           lines(20 + 3 * i, "r{i} = {i}")},
                          renames={"lib": "api"} if days == 400 else {}))
    out.append(Commit("Ann Lead", ANN, _at(380), {"tools/gen.py": None}))
    # Ben worked on the transport until 200 days before the end: he left in the previous
    # window.
    for days in (330, 260, 200):
        out.append(Commit("Ben Left", BEN, _at(days, 21),
                          {"api/transport.py": lines(30 + days // 10, "b{i} = {i}")}))
    # Dan, new: the web front end, the last three months.
    for days in (90, 60, 30, 10, 0):
        out.append(Commit("Dan New", DAN, _at(days),
                          {"web/app.ts": lines(20 + days // 10, "export const v{i} = {i};")}))
    # A bot bumping a dependency, recently; an image-only contributor, recently.
    out.append(Commit("dependabot[bot]", BOT, _at(5), {"requirements.txt": "httpx==0.28\n"}))
    out.append(Commit("Pix Designer", PIX, _at(15),
                      {"web/logo.png": b"\x89PNG\r\n\x1a\n\x00\x01\x02"}))
    # The last commit of the history: Ann on the client.
    out.append(Commit("Ann Lead", ANN, _at(0, 11), {"api/client.py": lines(120)}))
    return sorted(out, key=lambda c: c.when)
