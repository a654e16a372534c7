#!/usr/bin/env python3
# bench/report.py DATA_DIR RESULTS_MD - turns what bench/run recorded
# (runs.tsv, meta.tsv, floor.tsv, errors.tsv, footprint.txt in DATA_DIR)
# into the markdown report: a table per scenario with medians, minima and
# maxima, acmekit's ratio to each peer, the scale run, the footprint and
# the targets. Standard library only; reads nothing but DATA_DIR.
import csv
import os
import statistics
import sys

CLIENTS = ["acmekit", "uacme", "lego", "certbot"]
PEERS = CLIENTS[1:]
SCENARIOS = {
    "1": ("one name over HTTP-01", 1),
    "2": ("ten names in one order over HTTP-01", 10),
    "3": ("a name and its wildcard over DNS-01", 2),
}
LABEL = {"acmekit": "acmekit-cli", "uacme": "uacme", "lego": "lego",
         "certbot": "certbot"}


def read_tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.reader(f, delimiter="\t"))


def num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


class Data:
    def __init__(self, folder):
        rows = read_tsv(os.path.join(folder, "runs.tsv"))
        head, body = rows[0], rows[1:]
        self.runs = [dict(zip(head, r)) for r in body]
        self.meta = {}
        for r in read_tsv(os.path.join(folder, "meta.tsv")):
            if r:
                self.meta[r[0]] = r[1] if len(r) > 1 else ""
        self.floor = {}
        for r in read_tsv(os.path.join(folder, "floor.tsv")):
            self.floor.setdefault(r[0], {"cmd": r[1], "rows": []})
            self.floor[r[0]]["rows"].append([float(x) for x in r[2:5]])
        self.errors = read_tsv(os.path.join(folder, "errors.tsv"))
        path = os.path.join(folder, "elsewhere.txt")
        self.elsewhere = [l.rstrip("\n") for l in open(path)] if (
            os.path.exists(path)) else None
        path = os.path.join(folder, "footprint.txt")
        self.footprint_text = open(path).read() if os.path.exists(
            path) else None

    def timed(self, s, client):
        return [r for r in self.runs if r["scenario"] == s and
                r["client"] == client and r["kind"] == "timed" and
                r["rc"] == "0"]

    def traced(self, s, client):
        for r in self.runs:
            if (r["scenario"] == s and r["client"] == client and
                    r["kind"] == "traced"):
                return r
        return None

    def attempted(self, s, client):
        return [r for r in self.runs if r["scenario"] == s and
                r["client"] == client and r["kind"] == "timed"]

    def values(self, s, client, field):
        return [v for v in (num(r[field]) for r in self.timed(s, client))
                if v is not None]


def stats(values):
    if not values:
        return None
    return (statistics.median(values), min(values), max(values))


def fmt_triple(t, scale=1.0, digits=0, unit=""):
    if t is None:
        return "-"
    med, lo, hi = (x * scale for x in t)
    f = "{:.%df}" % digits
    return "%s%s (%s-%s)" % (f.format(med), unit, f.format(lo),
                              f.format(hi))


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    if r is None:
        return "-"
    if r >= 10:
        return "%.0fx" % r
    return "%.2fx" % r


def median_of(d, s, client, field):
    t = stats(d.values(s, client, field))
    return t[0] if t else None


def conns(d, s, client):
    r = d.traced(s, client)
    if r is None or r["connections"] == "":
        return None
    return int(r["connections"])


def scenario_section(d, s, out):
    title, names = SCENARIOS[s]
    out.append("## Scenario %s: %s\n" % (s, title))
    out.append("Medians over the successful timed runs, with (min-max): "
               "wall time; CPU, user + system, of the client and the "
               "processes it ran (hooks); peak RSS of its largest "
               "process; requests Pebble logged for the issuance. "
               "Connections to Pebble's port and fsync calls are from the "
               "traced run.\n")
    out.append("| client | version | ok runs | wall s | CPU ms | peak RSS "
               "MB | requests | connections | fsyncs |")
    out.append("|---|---|---|---|---|---|---|---|---|")
    for c in CLIENTS:
        att = d.attempted(s, c)
        tr = d.traced(s, c)
        if not att and tr is None:
            continue
        ok = len(d.timed(s, c))
        out.append("| %s | %s | %d of %d | %s | %s | %s | %s | %s | %s |" % (
            LABEL[c], d.meta.get("version." + c, "?").split(" (")[0],
            ok, len(att),
            fmt_triple(stats(d.values(s, c, "wall_ms")), 0.001, 3),
            fmt_triple(stats(d.values(s, c, "cpu_ms")), 1, 0),
            fmt_triple(stats(d.values(s, c, "rss_kb")), 1 / 1024, 1),
            fmt_triple(stats(d.values(s, c, "requests")), 1, 0),
            "-" if conns(d, s, c) is None else conns(d, s, c),
            "-" if tr is None or tr["fsyncs"] == "" else tr["fsyncs"]))
    out.append("")
    out.append("acmekit's ratio to each peer (acmekit / peer, medians; "
               "below 1 means acmekit used less):\n")
    out.append("| peer | wall | CPU | peak RSS | requests | connections |")
    out.append("|---|---|---|---|---|---|")
    for p in PEERS:
        if not d.timed(s, p):
            if d.attempted(s, p) or d.traced(s, p):
                out.append("| %s | no successful run | | | | |" % LABEL[p])
            continue
        cells = [fmt_ratio(ratio(median_of(d, s, "acmekit", f),
                                 median_of(d, s, p, f)))
                 for f in ("wall_ms", "cpu_ms", "rss_kb", "requests")]
        cells.append(fmt_ratio(ratio(conns(d, s, "acmekit"),
                                     conns(d, s, p))))
        out.append("| %s | %s |" % (LABEL[p], " | ".join(cells)))
    out.append("")
    errs = [e for e in d.errors if e and e[0] == s]
    if errs:
        out.append("Failed runs in this scenario:\n")
        for e in errs:
            out.append("- %s, round %s: `%s`" % (LABEL.get(e[1], e[1]),
                                                 e[2], e[3].strip()))
        out.append("")
    notes = [(c, d.meta.get("trace.s%s.%s" % (s, c))) for c in CLIENTS]
    notes = [(c, n) for c, n in notes if n]
    if notes:
        out.append("Time in fsync and in sleep calls (clock_nanosleep, "
                   "nanosleep) in the traced run, from strace -T; Go's "
                   "runtime also waits in futex and epoll calls, which "
                   "are not counted here:\n")
        for c, n in notes:
            out.append("- %s: %s" % (LABEL[c], n))
        out.append("")
    out.append("Load average (1, 5, 15 min) at the start and end: %s; %s\n"
               % (d.meta.get("load.s%s.start" % s, "?"),
                  d.meta.get("load.s%s.end" % s, "?")))


def floor_median(d, label, index):
    f = d.floor.get(label)
    if not f or not f["rows"]:
        return None
    return statistics.median(r[index] for r in f["rows"])


def lowest_peer(d, s, field):
    best = None
    for p in PEERS:
        m = median_of(d, s, p, field)
        if m is not None and (best is None or m < best[1]):
            best = (p, m)
    return best


def targets_section(d, out):
    out.append("## Targets\n")
    out.append("| target | measured | met | by how much |")
    out.append("|---|---|---|---|")
    why = []

    def row(target, measured, met, margin):
        verdict = {True: "yes", False: "**no**", None: "not measured"}[met]
        out.append("| %s | %s | %s | %s |" % (target, measured, verdict,
                                             margin))

    t1 = stats(d.values("1", "acmekit", "wall_ms"))
    if t1:
        med, lo, hi = t1
        met = med <= 150 and hi <= 300
        row("one name: wall median <= 0.15 s, no run over 0.3 s",
            "median %.3f s, max %.3f s" % (med / 1000, hi / 1000), met,
            "median %+.0f ms, max %+.0f ms against the limits" %
            (med - 150, hi - 300))
        if not met:
            why.append(("one name, wall", wall_why(d, "1")))
    else:
        row("one name: wall median <= 0.15 s, no run over 0.3 s", "-",
            None, "")
    t2 = stats(d.values("2", "acmekit", "wall_ms"))
    if t2:
        met = t2[0] <= 300
        row("ten names: wall median <= 0.3 s",
            "median %.3f s (max %.3f s)" % (t2[0] / 1000, t2[2] / 1000),
            met, "%+.0f ms against the limit" % (t2[0] - 300))
        if not met:
            why.append(("ten names, wall", wall_why(d, "2")))
    else:
        row("ten names: wall median <= 0.3 s", "-", None, "")

    for field, name, unit, scale in (("cpu_ms", "CPU", "ms", 1.0),
                                     ("rss_kb", "peak RSS", "MB",
                                      1 / 1024)):
        missed = []
        for s in SCENARIOS:
            a = median_of(d, s, "acmekit", field)
            low = lowest_peer(d, s, field)
            if a is None or low is None:
                continue
            limit = low[1] / 2
            met = a <= limit
            row("%s per issuance <= half the lowest peer's (scenario %s)"
                % (name, s),
                "acmekit %.1f %s; lowest peer %s %.1f %s" %
                (a * scale, unit, LABEL[low[0]], low[1] * scale, unit),
                met, "%.2fx the lowest peer's (limit 0.50x)" %
                (a / low[1]))
            if not met:
                missed.append(s)
        if missed:
            why.append(("%s" % name, resource_why(d, field, missed)))

    for s in SCENARIOS:
        c = conns(d, s, "acmekit")
        if c is None:
            continue
        row("one TCP connection per issuance (scenario %s)" % s,
            "%d" % c, c == 1, "%+d" % (c - 1))
        if c != 1:
            why.append(("connections, scenario %s" % s,
                        "acmekit opened %d connections to Pebble in the "
                        "traced run." % c))
    for s, (title, names) in SCENARIOS.items():
        v = d.values(s, "acmekit", "requests")
        if not v:
            continue
        limit = 8 + 2 * names
        met = max(v) <= limit
        row("requests <= 8 + 2 per name = %d (scenario %s)" % (limit, s),
            "median %.0f, max %.0f" % (statistics.median(v), max(v)), met,
            "%+.0f against the limit (worst run)" % (max(v) - limit))
        if not met:
            why.append(("requests, scenario %s" % s,
                        requests_why(d, s, limit)))
    out.append("")
    if why:
        out.append("Why the missed targets were missed, from what this run "
                   "measured:\n")
        for what, text in why:
            out.append("- **%s**: %s" % (what, text))
        out.append("")


def wall_why(d, s):
    parts = []
    tr = d.meta.get("trace.s%s.acmekit" % s)
    if tr:
        parts.append("in the traced run acmekit spent %s (durable storage "
                     "writes: each file is written, fsynced and its folder "
                     "fsynced; poll waits start at 20 ms and double)" % tr)
    f = floor_median(d, "acmekit", 0)
    if f is not None:
        parts.append("starting the program alone (`acmekit-cli --help`) "
                     "takes %.0f ms wall" % f)
    h = floor_median(d, "harness", 0)
    if h is not None:
        parts.append("the harness's own wrappers (timeout, GNU time) add "
                     "%.0f ms" % h)
    parts.append("the machine's load average was %s at the start and %s "
                 "at the end of the scenario (nproc %s)" %
                 (d.meta.get("load.s%s.start" % s, "?"),
                  d.meta.get("load.s%s.end" % s, "?"),
                  d.meta.get("nproc", "?")))
    return "; ".join(parts) + "."


def requests_why(d, s, limit):
    runs = d.timed(s, "acmekit")
    over = [r for r in runs if num(r["requests"]) > limit]
    walls = sorted(num(r["wall_ms"]) for r in runs)
    text = ("%d of %d runs went over: %s. " % (
        len(over), len(runs), ", ".join(
            "round %s, %s requests in %.3f s" % (
                r["round"], r["requests"], num(r["wall_ms"]) / 1000)
            for r in over)))
    slowest = [r for r in over if num(r["wall_ms"]) >= walls[-len(over)]]
    if len(slowest) == len(over):
        text += ("They were also the slowest runs: the extra requests are "
                 "order polls while Pebble was still validating; acmekit "
                 "polls the order 20 ms after answering, then doubles the "
                 "wait, one request each time.")
    return text


def resource_why(d, field, scenarios):
    index = 1 if field == "cpu_ms" else 2
    unit, scale = ("ms", 1.0) if field == "cpu_ms" else ("MB", 1 / 1024)
    parts = []
    f = floor_median(d, "acmekit", index)
    if f is not None and d.meta.get("build.acmekit") == "static":
        parts.append("`acmekit-cli --help`, which issues nothing, already "
                     "costs %.1f %s (a static program: mbedTLS, libstdc++, "
                     "Boost.JSON and fmt inside it, no shared libraries)"
                     % (f * scale, unit))
    elif f is not None:
        parts.append("`acmekit-cli --help`, which issues nothing, already "
                     "costs %.1f %s (it loads %s shared libraries, "
                     "OpenSSL's libcrypto and libssl for cpp-httplib next "
                     "to mbedTLS, libstdc++, Boost.JSON, fmt, brotli, zlib)"
                     % (f * scale, unit,
                        d.meta.get("libraries.acmekit-cli", "?")))
    for p in PEERS:
        g = floor_median(d, p, index)
        if g is not None:
            parts.append("%s's start-up (`%s`): %.1f %s" %
                         (LABEL[p], d.floor[p]["cmd"], g * scale, unit))
    if field == "cpu_ms":
        for s in scenarios:
            work = []
            for c in CLIENTS:
                m, f = median_of(d, s, c, field), floor_median(d, c, index)
                if m is not None and f is not None:
                    work.append("%s %.0f ms" % (LABEL[c], m - f))
            if work:
                parts.append("CPU beyond start-up (median minus start-up) "
                             "in scenario %s: %s" % (s, ", ".join(work)))
    h = floor_median(d, "harness", index)
    if h is not None and field == "cpu_ms":
        parts.append("the wrappers around every run (timeout, GNU time) "
                     "cost %.1f ms of CPU, counted for every client" % h)
    return ("missed in scenario(s) %s; " % ", ".join(scenarios) +
            "; ".join(parts) + ".")


def scale_section(d, out):
    m = d.meta
    out.append("## Scale run\n")
    if "scale.total_ms" not in m:
        out.append("Not run, or it failed before printing: %s\n" %
                   m.get("scale.error", "no output"))
        return
    count = int(m.get("scale.count", "0") or 0)
    issued = int(m.get("scale.issued", "0") or 0)
    out.append("`bench/scale.c`: %s certificates for different names from "
               "one process, %s threads, each with its own acme_client and "
               "account; HTTP-01 through http01_publish/http01_withdraw "
               "into one token table served by one HTTP server thread of "
               "the program on 127.0.0.1.\n" % (count, m.get(
                   "scale.threads", "?")))
    out.append("| figure | value |")
    out.append("|---|---|")
    rows = [
        ("issued / failed", "%s / %s" % (issued, m.get("scale.failed"))),
        ("total wall", "%.2f s" % (float(m["scale.total_ms"]) / 1000)),
        ("wall per certificate", "%s ms" % m.get("scale.per_certificate_ms",
                                                 "-")),
        ("latency of one issuance: median (min-max)", "%s ms (%s-%s)" % (
            m.get("scale.latency_median_ms", "-"),
            m.get("scale.latency_min_ms", "-"),
            m.get("scale.latency_max_ms", "-"))),
        ("CPU of the process", "%s ms" % m.get("scale.cpu_ms", "-")),
        ("peak RSS (getrusage / GNU time)", "%.1f MB / %.1f MB" % (
            float(m.get("scale.peak_rss_kb", "0")) / 1024,
            float(m.get("scale.gnu_rss_kb", "0")) / 1024)),
        ("requests Pebble logged", "%s (%.1f per certificate, the %s "
         "account registrations included)" % (
             m.get("scale.requests", "-"),
             float(m.get("scale.requests", "0")) / max(issued, 1),
             m.get("scale.threads", "?"))),
        ("exit status", m.get("scale.rc", "?")),
    ]
    for k, v in rows:
        out.append("| %s | %s |" % (k, v))
    if m.get("scale.error"):
        out.append("\nError: `%s`" % m["scale.error"])
    out.append("\nLoad average at its start: %s\n" %
               m.get("load.scale.start", "?"))


def footprint_section(d, out):
    out.append("## Footprint\n")
    out.append("| build | stripped | unstripped |")
    out.append("|---|---|---|")
    for k, v in d.meta.items():
        if k.startswith("footprint.") and k != "footprint.cli":
            parts = v.split()
            name = k[len("footprint."):]
            label = ("libacmekit.so without cpp-httplib (-Dhttplib="
                     "disabled)" if "nohttplib" in name else
                     "libacmekit.so with the cpp-httplib adapters")
            out.append("| %s (`%s`) | %s bytes (%.0f KiB) | %s bytes |" % (
                label, name, parts[0], int(parts[0]) / 1024,
                parts[1] if len(parts) > 1 else "-"))
    if "footprint.cli" in d.meta:
        how = ("fully static, the program measured above"
               if d.meta.get("build.acmekit") == "static" else
               "dynamically linked, the program measured above")
        out.append("| acmekit-cli (%s) | %s bytes | |" %
                   (how, d.meta["footprint.cli"]))
    out.append("")
    if d.footprint_text is not None:
        out.append("`scripts/footprint` printed:\n")
        out.append("```")
        out.append(d.footprint_text.rstrip())
        out.append("```\n")
    else:
        out.append("A statically linked C example: pending (there was no "
                   "`scripts/footprint` when this ran; another engineer is "
                   "adding static builds).\n")


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: report.py DATA_DIR RESULTS_MD")
    d = Data(sys.argv[1])
    m = d.meta
    out = ["# acmekit benchmark results\n"]
    out.append("Written by `bench/run` (see bench/README.md) on %s; the "
               "whole run took %.1f min. Command: `%s`. %s timed runs per "
               "client and scenario after one traced run.\n" % (
                   m.get("date", "?"),
                   float(m.get("duration_s", "0")) / 60,
                   m.get("command", "?"), m.get("runs", "?")))
    out.append("## Machine\n")
    out.append("| | |")
    out.append("|---|---|")
    for k in ("nproc", "cpu", "memory", "kernel", "os", "filesystem"):
        out.append("| %s | %s |" % (k, m.get(k, "?")))
    out.append("")
    out.append("## Programs\n")
    out.append("| program | version | account key it made |")
    out.append("|---|---|---|")
    for c in CLIENTS:
        if "version." + c in m and any(r["client"] == c for r in d.runs):
            out.append("| %s | %s | %s |" % (LABEL[c], m["version." + c],
                                             m.get("account_key." + c,
                                                   "-")))
    for k in ("pebble", "python3", "time", "strace"):
        if "version." + k in m:
            out.append("| %s | %s | |" % (k, m["version." + k]))
    out.append("")
    out.append("## Setup\n")
    out.append(
        "- One Pebble and its pebble-challtestsrv on 127.0.0.1 (tests/e2e/"
        "lib.sh), with PEBBLE_VA_NOSLEEP=1, PEBBLE_WFE_NONCEREJECT=0 and "
        "PEBBLE_AUTHZREUSE=0; fresh names and a fresh account for every "
        "run; certificate keys ECDSA P-256 for every client.\n"
        "- HTTP-01: acmekit-cli, lego and certbot answer on Pebble's "
        "HTTP-01 port themselves, bound to 127.0.0.1. uacme writes the "
        "token through bench/hook into a webroot that `python3 -m "
        "http.server` serves on [::1] at the same port; that server is "
        "started once and is setup, not client: its CPU and memory are in "
        "no figure. uacme's names get an AAAA record for ::1.\n"
        "- DNS-01: every client calls bench/hook, which sets and clears "
        "TXT records through pebble-challtestsrv's /set-txt and "
        "/clear-txt; no client waits for propagation (acmekit-cli "
        "--no-propagation-check; lego --dns.disable-cp with "
        "EXEC_POLLING_INTERVAL=0 and EXEC_SEQUENCE_INTERVAL=0; certbot and "
        "uacme do not check). The hook's processes count for the client "
        "that ran them.\n"
        "- Trust in Pebble's TLS CA: acmekit-cli --ca-file, lego "
        "LEGO_CA_CERTIFICATES, certbot REQUESTS_CA_BUNDLE. uacme 1.7.4 "
        "has no option or variable for a CA file (its man page lists "
        "none; Debian's build uses libcurl-gnutls with /etc/ssl/certs), "
        "so bench/run runs everything in a private mount namespace in "
        "which /etc/ssl/certs holds only Pebble's TLS CA.\n"
        "- Account keys: acmekit-cli, uacme and lego make an ECDSA P-256 "
        "account key; certbot 2.1 always makes an RSA 2048 one (it has no "
        "option for another type), part of its CPU time.\n"
        "- uacme is two processes per issuance (`new`, then `issue`); its "
        "figures are their sums (RSS: the larger).\n"
        "- Figures: wall and CPU from bash's `time` around `timeout` and "
        "`/usr/bin/time -v` (1 ms steps; GNU time itself prints 10 ms "
        "steps, kept in bench/results.tsv), peak RSS from `/usr/bin/time "
        "-v`; requests counted in Pebble's log between marks; connections "
        "from `strace -f -e trace=connect` in the untimed first run of "
        "each client and scenario, which is also the warm-up.\n")
    h = d.floor.get("harness")
    if h:
        out.append("- The wrappers alone, around `/bin/true`: %.1f ms wall, "
                   "%.1f ms CPU (medians of 10), included in every run's "
                   "figures.\n" % (floor_median(d, "harness", 0),
                                   floor_median(d, "harness", 1)))
    if d.floor:
        out.append("Start-up alone, measured the same way (medians of 10):"
                   "\n")
        out.append("| command | wall ms | CPU ms | peak RSS MB |")
        out.append("|---|---|---|---|")
        for label, f in d.floor.items():
            out.append("| `%s` | %.1f | %.1f | %.1f |" % (
                f["cmd"].replace(os.path.dirname(
                    os.path.dirname(f["cmd"])) + "/", "")
                if label == "acmekit" else f["cmd"],
                floor_median(d, label, 0), floor_median(d, label, 1),
                floor_median(d, label, 2) / 1024))
        out.append("")
    if d.elsewhere is not None:
        if d.elsewhere:
            out.append("Connections to addresses other than 127.0.0.1 and "
                       "::1 seen in the traced runs (this must not "
                       "happen):\n")
            out.append("```")
            out.extend(d.elsewhere[:40])
            out.append("```\n")
        else:
            out.append("In the traced runs, no client connected to any "
                       "address but 127.0.0.1 and ::1 (strace, all "
                       "connect calls of the client and its children).\n")
    for s in SCENARIOS:
        if any(r["scenario"] == s for r in d.runs):
            scenario_section(d, s, out)
    scale_section(d, out)
    footprint_section(d, out)
    targets_section(d, out)
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(out).rstrip() + "\n")


if __name__ == "__main__":
    main()
