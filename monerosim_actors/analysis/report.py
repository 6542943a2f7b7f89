"""Writing a report folder: summary.json, the CSV tables, the pictures and report.md.

One run: everything at the top of the folder. Several runs: each run's tables and summary in a
sub-folder named by its label, ``summary.json`` keyed by label, ``comparison.csv``, and pictures
with one curve per run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from monerosim_actors import defaults
from monerosim_actors.errors import OutputError

from . import compare
from .checks import check_consistency
from .plots import Picture, draw_all
from .run import Run
from .summary import summarize

log = logging.getLogger(__name__)

TABLES: list[tuple[str, str]] = [
    ("messages", "one row per bus message: send joined with receipt by id, latency, path latency "
                 "and excess, first on its connection or not, status"),
    ("links", "one row per (src, dst) host pair: messages, delivered, lost, latency percentiles, "
              "path latency, excess over it (first messages on a connection apart)"),
    ("blocks", "one row per mined block: pool, phase, when mined and first seen, by how many nodes, "
               "its parent, whether it is on the final main chain (else the block that beat it, and "
               "by how long)"),
    ("reorgs", "one row per reorganisation a node logged: when, from which height, how many blocks "
               "it dropped"),
    ("block_seen", "one row per (block, node): when the node first saw it, delay since mined"),
    ("payments", "one row per payment: send or failure, receipt and confirmation, delays"),
    ("transactions", "one row per transaction a user sent: sender and its node, first public sighting "
                     "(when, where), time to 50%, 90% and all nodes, confirmation"),
    ("tx_seen", "one row per (transaction, node): when the node's pool first showed it, delay since the send"),
    ("hosts", "one row per host: role, node, pool, whether its log was read whole"),
]
"""The CSV files of a run (``NAME.csv``, the :class:`Run` attribute of the same name)."""

SHADOW_TIMING_DEFAULTS = {"unblocked_syscall_latency": "1 us", "unblocked_vdso_latency": "10 ns",
                          "max_unapplied_cpu_latency": "1 us"}
"""Shadow 3's defaults of the ``experimental`` options that give CPU-free work a simulated time
(its configuration specification), named in the report when the plan does not set them."""

GRAPHS = {"switch": "Shadow's built-in `1_gbit_switch` (one node, its self-loop 1 ms)",
          "gml": "the scenario's own GML graph (`network.gml`)",
          "regions": "the graph generated from the scenario's regions (`network.gml`)"}


def write_report(runs: Sequence[Run], out_dir: str | Path) -> Path:
    """Analyse the runs into ``out_dir``; returns the path of report.md.

    Raises:
        OutputError: the report folder cannot be written.
    """
    out = Path(out_dir)
    runs = list(runs)
    labels = [r.label for r in runs]
    if len(set(labels)) < len(labels):
        raise OutputError(f"runs must have different labels, got {labels}")
    try:
        out.mkdir(parents=True, exist_ok=True)
        summaries = [summarize(r) for r in runs]
        if len(runs) == 1:
            _write_run(runs[0], summaries[0], out)
            table = None
        else:
            for run, summary in zip(runs, summaries):
                (out / run.label).mkdir(exist_ok=True)
                _write_run(run, summary, out / run.label)
            _write_json(out / defaults.REPORT_SUMMARY_FILE, {"runs": dict(zip((r.label for r in runs),
                                                                 summaries))})
            table = compare.comparison(summaries, [r.label for r in runs])
            table.to_csv(out / "comparison.csv")
        pictures = draw_all(runs, summaries, out)
        path = out / "report.md"
        path.write_text(render(runs, summaries, pictures, table), encoding="utf-8")
    except OSError as e:
        raise OutputError(f"{out}: cannot write the report: {e}") from e
    log.info("report written to %s", path)
    return path


def _write_run(run: Run, summary: dict[str, Any], out: Path) -> None:
    _write_json(out / defaults.REPORT_SUMMARY_FILE, summary)
    for name, _ in TABLES:
        getattr(run, name).to_csv(out / f"{name}.csv", index=False)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render(runs: Sequence[Run], summaries: Sequence[dict[str, Any]], pictures: list[Picture],
           table: pd.DataFrame | None) -> str:
    """The text of report.md."""
    labels = ", ".join(r.label for r in runs)
    parts = [f"# monerosim-actors report: {labels}\n"]
    if table is not None:
        parts.append("## Comparison\n\nHeadline numbers of each run (`comparison.csv`); each run's "
                     "own tables and summary are in the folder named by its label.\n")
        parts.append(_table(["metric", *table.columns],
                            [[name, *(None if pd.isna(v) else v for v in row)]
                             for name, row in table.iterrows()]))
    for run, summary in zip(runs, summaries):
        if table is None:
            parts.append(_run_section(run, summary, prefix="", heading="##"))
        else:
            parts.append(f"## Run {run.label}\n")
            parts.append(_run_section(run, summary, prefix=f"{run.label}/", heading="###"))
    parts.append("## Pictures\n")
    for picture in pictures:
        if picture.path is not None:
            parts.append(f"### {picture.title}\n\n![{picture.title}]({picture.path.name})\n\n"
                         f"{picture.caption}\n")
        else:
            parts.append(f"### {picture.title}\n\nNo picture: {picture.no_data}.\n")
    return "\n".join(parts)


def _latency_section(run: Run, n: dict[str, Any], heading: str) -> str:
    """Latency against the network path: what the path is, the first messages on a connection and
    the steady state apart, and what the remainder is."""
    out = [f"{heading} Latency against the network\n"]
    if n["backend"] == "local":
        out.append("Local backend: the hosts talk over loopback (their 127.x addresses), which models "
                   "no latency, so every path is 0 ms and a message's excess is its whole latency: "
                   "the runtime's own time (encoding, the bus threads, the kernel's loopback) on the "
                   "machine's clock. The plan's graph is for Shadow and plays no part here.\n")
    else:
        routing = ("" if n["graph"] == "switch"
                   else "; between two nodes, the path of least total latency"
                   if n["use_shortest_path"] else "; between two nodes, the direct edge "
                   "(`use_shortest_path: false`)")
        out.append(f"A message's path latency (`path_ms`) is the latency of the route Shadow gives "
                   f"between its hosts' graph nodes in {GRAPHS[n['graph']]}: a node's self-loop for "
                   f"two hosts on one node{routing}. Its excess (`excess_ms`) is the latency beyond "
                   f"the path.\n")
    fe, se = n["first_excess_ms"], n["excess_ms"]
    out.append(f"The first message a client sends on its connection to a service may also carry the "
               f"TCP and ZMTP handshakes (several round trips); replies travel on the same "
               f"connection and never wait for them. {n['first']} first messages: excess p50 "
               f"{_fmt(fe['p50_ms'])} ms, p90 {_fmt(fe['p90_ms'])} ms. {n['steady']} steady-state "
               f"messages (the other delivered ones): excess p50 {_fmt(se['p50_ms'])} ms, p90 "
               f"{_fmt(se['p90_ms'])} ms, p99 {_fmt(se['p99_ms'])} ms. Per path latency:\n")
    out.append(_table(["path ms", "links", "steady", "steady p50 ms", "excess p50 ms",
                       "excess p50 % of path", "first", "first excess p50 ms"],
                      [[r["path_ms"], r["links"], r["steady"], r["p50_ms"], r["excess_p50_ms"],
                        r["excess_p50_pct"], r["first"], r["first_excess_p50_ms"]]
                       for r in n["by_path"]])
               if n["by_path"] else "No message was delivered between hosts of the plan.\n")
    if n["backend"] == "shadow":
        out.append(_shadow_remainder(run.plan.shadow_general, run.plan.shadow_experimental))
    return "\n".join(out)


def _shadow_remainder(general: dict[str, Any], experimental: dict[str, Any]) -> str:
    """What a steady-state message takes beyond its path under Shadow, with the run's settings."""
    waiting = ("behind other frames on a bus, for a host's bandwidth, or for a lost packet to be "
               "sent again")
    if not general.get("model_unblocked_syscall_latency", False):
        return (f"The remainder under Shadow: `general.model_unblocked_syscall_latency` is off, so "
                f"system calls take no simulated time and any excess is waiting: {waiting}.\n")

    def option(name: str) -> str:
        if name in experimental:
            return f"`{experimental[name]}`"
        return f"{SHADOW_TIMING_DEFAULTS[name]}, Shadow's default"

    return (f"The remainder under Shadow is its modelled syscall latency. Shadow moves a host's clock "
            f"on only by modelled time: the network's and, with "
            f"`general.model_unblocked_syscall_latency: true`, each system call that does not block "
            f"(`experimental.unblocked_syscall_latency`: {option('unblocked_syscall_latency')}) and "
            f"each vDSO call such as `clock_gettime` (`unblocked_vdso_latency`: "
            f"{option('unblocked_vdso_latency')}), applied whenever `max_unapplied_cpu_latency` "
            f"({option('max_unapplied_cpu_latency')}) has built up. The sender makes such calls "
            f"between taking `sent_at` and writing the frame, the receiver between reading it and "
            f"taking `recv_at`; the runtime's own processing between them takes no simulated time. "
            f"An excess beyond that is waiting: {waiting}.\n")


def payments_line(p: dict[str, Any]) -> str:
    """Payment decisions and failures, worded as the run's end summary words them (a decision is a
    ``payment_id``; it failed in the end if it never got a ``payment_sent``)."""
    reasons = ", ".join(f"{r} {n}" for r, n in p["failed_by_reason"].items()) or "none"
    return (f"payments: {p['decisions']} decisions, {p['sent']} sent, {p['confirmed']} confirmed, "
            f"{p['failed']} failed in the end; {p['retried']} failed attempts retried; "
            f"failures by reason: {reasons}")


def _time_note(k: float) -> str:
    """What the run's seconds are: the time scale, and which durations are scaled."""
    if k == 1:
        return ("Time scale 1: durations are scenario seconds, equal to the event clock's (under "
                "Shadow the simulated clock). Message latencies are in ms of the same clock.\n")
    return (f"Time scale {_fmt(k)} (the local backend's `--time-scale`): {_fmt(k)} scenario seconds "
            f"passed per real second. Durations are given in scenario seconds (real seconds times "
            f"{_fmt(k)}) with the real seconds beside them; message latencies (ms) are the bus's "
            f"own real time, not scaled.\n")


def _secs(d: dict[str, Any], name: str, k: float) -> str:
    """``d[NAME_s]`` in scenario seconds, with ``d[NAME_real_s]`` beside it when k is not 1."""
    text = f"{_fmt(d[f'{name}_s'])} s"
    return text if k == 1 else f"{text} ({_fmt(d.get(f'{name}_real_s'))} real s)"


def _stat_secs(d: dict[str, Any], name: str, keys: Sequence[str], k: float) -> str:
    """Statistics ``d[NAME_s][KEY]`` in scenario seconds (real seconds beside when k is not 1)."""
    real = d.get(f"{name}_real_s", {})
    return ", ".join(f"{key} " + _secs({f"{name}_s": d[f"{name}_s"][key],
                                        f"{name}_real_s": real.get(key)}, name, k)
                     for key in keys)


def _served(h: dict[str, Any]) -> str:
    """``, 100 wallet-only on 10 public nodes (7 to 13 each)``, or nothing when there are none."""
    served = h["served_by_public_node"]
    if not served:
        return ""
    return (f", {h['wallet_only']} wallet-only on {len(served)} public nodes "
            f"({min(served.values())} to {max(served.values())} each)")


def _interval(ci: list[float] | None) -> str:
    return "n/a" if ci is None or None in ci else f"{ci[0]:.3f} to {ci[1]:.3f}"


LOCAL_PREDICTION_NOTE = (
    "Local backend: the prediction is likely too high here. A node announces a block only once it "
    "has verified it, and a mine order that reaches it meanwhile probably waits for that "
    "verification and cannot race; the measured propagation counts that time (under Shadow "
    "verification takes no simulated time; docs/analysis.md).")


def stale_section(st: dict[str, Any], reorgs: dict[str, Any], heading: str, backend: str) -> str:
    """Stale blocks, who beat them, the prediction beside the measurement, and reorganisations."""
    out = [f"{heading} Stale blocks and reorganisations\n"]
    if not st["available"]:
        out.append(f"Stale blocks: unavailable: {st['reason']}. Heights mined more than once: "
                   f"{st['heights_raced']}.\n")
    else:
        out.append(f"{st['blocks']} stale blocks (mined, but not on the final main chain), "
                   f"{st['schedule_blocks']} of them in the schedule; {st['heights_raced']} heights "
                   f"raced. Stale rate of the schedule: {_fmt(st['rate'])} (95% interval "
                   f"{_interval(st['rate_ci95'])}).\n")
        out.append(_table(["pool", "mined", "stale", "stale rate", "95% interval"],
                          [[p, v["mined"], v["stale"], v["rate"], _interval(v["rate_ci95"])]
                           for p, v in st["by_pool"].items()]))
        if st["races"]:
            out.append(_table(["height", "stale block", "pool", "seen by", "beaten by", "winner's pool",
                               "winner seen by", "mined after the winner (s)"],
                              [[r["height"], r["stale"], r["pool"], r["seen_by"], r["beaten_by"],
                                r["winner_pool"], r["winner_seen_by"], r["gap_s"]] for r in st["races"]]))
    pred = st["predicted"]
    if pred["available"]:
        measured = ("" if pred["measured_within"] is None else
                    " The measured count lies within it." if pred["measured_within"]
                    else " The measured count lies OUTSIDE it.")
        out.append(f"Predicted from the run's own latencies ({pred['schedule']} intervals, block time "
                   f"{_fmt(pred['block_time_s'])} s, {pred['trials']} blocks that could be raced): "
                   f"{_fmt(pred['stale'])} stale blocks (95% interval {pred['stale_ci95'][0]} to "
                   f"{pred['stale_ci95'][1]}), rate {_fmt(pred['rate'])}.{measured} A block of pool a "
                   f"races when the next order goes to another pool b sooner than the window a's "
                   f"order-to-block time + propagation a to b - b's mine-signal latency "
                   f"(docs/analysis.md).{' ' + LOCAL_PREDICTION_NOTE if backend == 'local' else ''}\n")
        out.append(_table(["from", "to", "order to block s", "propagation s", "signal s", "window s"],
                          [[r["from"], r["to"], r["mined_s"], r["propagation_s"], r["signal_s"],
                            r["window_s"]] for r in pred["pairs"]]) if pred["pairs"]
                   else "No pair of pools has measured windows.\n")
    else:
        out.append(f"No prediction: {pred['reason']}.\n")
    nodes = [(n, v["count"], ", ".join(map(str, v["depths"])) or "-") for n, v in reorgs["by_node"].items()
             if v["count"]]
    out.append(f"Reorganisations (a node switched tips; depth = blocks it dropped): {reorgs['total']} in all"
               + (f", deepest {reorgs['max_depth']}:\n" if nodes else ".\n"))
    if nodes:
        out.append(_table(["node", "reorganisations", "depths"], nodes))
    return "\n".join(out)


def _run_section(run: Run, s: dict[str, Any], prefix: str, heading: str) -> str:
    h = s["hosts"]
    m, b, p = s["messages"], s["blocks"], s["payments"]
    k = s["run"]["time_scale"]
    out = [f"{heading} Hosts\n",
           f"Run folder `{run.out_dir}`: {h['total']} hosts ({h['with_node']} with a monerod of their "
           f"own{_served(h)}), events over {_secs(s['run'], 'duration', k)}. "
           f"Missing logs: {', '.join(h['missing_logs']) or 'none'}. "
           f"Logs cut mid-line (crash): {', '.join(h['truncated_logs']) or 'none'}.\n"]
    out.append(_time_note(k))
    problems = check_consistency(run)
    raced = s["stale"]["heights_raced"]
    out.append("Consistency: " + ("; ".join(problems) if problems else "the numbers agree with "
               f"the logs (heights mined = chain height gained, {raced} of them raced by two or more "
               "blocks; confirmed <= sent, every receipt has a send).") + "\n")
    out.append(f"{heading} Coordination messages\n")
    out.append(f"{m['count']} messages: {m['delivered']} delivered, {m['lost']} lost (sent, never "
               f"received; {m['lost_before_connect']} of them `lost_before_connect`: sent before the "
               f"receiver's runtime had logged `host_started`, so its bus was not connected yet), {m['receipt_only']} received without a logged send. One-way latency "
               f"`recv_at - sent_at` per type:\n")
    out.append(_table(["type", "count", "delivered", "lost", "p50 ms", "p90 ms", "p99 ms", "max ms",
                       "steady excess p50 ms", "first", "first excess p50 ms"],
                      [[k, v["count"], v["delivered"], v["lost"], v["p50_ms"], v["p90_ms"],
                        v["p99_ms"], v["max_ms"], v["excess_p50_ms"], v["first"],
                        v["first_excess_p50_ms"]] for k, v in m["by_type"].items()])
               if m["by_type"] else "No message was logged.\n")
    out.append(_latency_section(run, s["network"], heading))
    out.append(f"{heading} Blocks\n")
    out.append(f"{b['total']} blocks mined: {b['bootstrap']} in the bootstrap, {b['schedule']} in "
               f"the schedule. Shares are of the schedule's blocks; chi-square p-value of the "
               f"counts against the configured shares: {_fmt(b['chi2_p'])}.\n")
    out.append("`blocks` and `share` are of the blocks each pool was told to mine and mined (the "
               "controller's choice, stale ones included: what the chi-square tests); the main-chain "
               "columns are of the blocks on the final main chain (what a pool is paid for).\n")
    out.append(_table(["pool", "blocks", "share", "95% interval", "expected share",
                       "main-chain blocks", "main-chain share", "bootstrap blocks"],
                      [[k, v["blocks"], v["share"], _interval(v["share_ci95"]),
                        v["expected_share"], v["main_chain_blocks"], v["main_chain_share"],
                        v["bootstrap_blocks"]] for k, v in b["by_pool"].items()])
               if b["by_pool"] else "No mining pool in the plan.\n")
    out.append(stale_section(s["stale"], s["reorgs"], heading, s["network"]["backend"]))
    out.append(f"{heading} Payments\n")
    out.append(f"{payments_line(p)}. {p['received']} seen by a marketplace. Delay from send to confirmation: "
               f"{_stat_secs(p, 'confirmation_delay', ('p50', 'p90', 'max'), k)}; to the "
               f"marketplace's pool: {_stat_secs(p, 'pool_delay', ('p50',), k)}.\n")
    heights = s["nodes"]["final_heights"]
    out.append(f"{heading} Nodes\n")
    out.append(f"Block propagation (mining to first sight on another node): "
               f"{_stat_secs(s, 'propagation', ('p50', 'p90', 'max'), k)}. Final heights:\n")
    out.append(_table(["node", "final height"], list(heights.items())) if heights
               else "No host runs a node.\n")
    out.append(transactions_section(s["transactions"], heading))
    out.append(f"{heading} Tables\n")
    out.append("\n".join(f"- [`{prefix}{name}.csv`]({prefix}{name}.csv): {what}"
                         for name, what in TABLES) + f"\n- [`{prefix}summary.json`]"
               f"({prefix}summary.json): the numbers above\n")
    return "\n".join(out)


def transactions_section(t: dict[str, Any], heading: str) -> str:
    """How transactions spread and what a spy learns (docs/analysis.md, "Transactions")."""
    out = [f"{heading} Transactions\n"]
    if not t["available"]:
        return "\n".join(out + [f"{t['transactions']} transactions sent; their spread is not known: {t['why']}.\n"])

    def p(name: str) -> str:
        v = t[name]
        return f"p50 {_fmt(v['p50'])} s, p90 {_fmt(v['p90'])} s, p99 {_fmt(v['p99'])} s"

    out.append(f"{t['transactions']} transactions sent; {t['seen_by_all_but_the_fluffer']} were shown by every one "
               f"of the {t['nodes']} nodes' pools but the fluffing node's (times to 50%, 90% and every node count "
               f"the nodes that can show it: all but that one). A node's pool feed shows a transaction once the fluff reaches it (monerod "
               f"publishes no copy it holds on a stem or as its own wallet's), so the first sighting is the "
               f"first public one, after the Dandelion++ stem, and the node that fluffed it never shows it.\n")
    out.append(_table(["from the send to", "p50 s", "p90 s", "p99 s"],
                      [[what, t[key]["p50"], t[key]["p90"], t[key]["p99"]] for what, key in (
                          ("first public sighting", "first_public_s"), ("50% of the nodes", "reach_50_s"),
                          ("90% of the nodes", "reach_90_s"), ("every node but the fluffer", "reach_all_s"),
                          ("each node (every sighting)", "delay_to_node_s"))]))
    rows = []
    for label, v in (("every node", t["spy_all_nodes"]),
                     (f"{t['spy_fraction']['fraction']:.0%} of the nodes", t["spy_fraction"])):
        rows.append([f"{label} ({v['nodes_watched']})", v["transactions"], v["precision"],
                     _interval(v["precision_ci"]), v["sender_or_peer"], _interval(v["sender_or_peer_ci"])])
    out.append("**The first spy** watches the pools of some nodes and guesses that the first node to show a "
               "transaction is its sender's node (its own, or its wallet's public node):\n")
    out.append(_table(["spy watches", "transactions", "precision", "95% interval", "sender's node or a peer",
                       "95% interval"], rows))
    d = t["dandelion_prediction"]
    f = t["fluffed_by_sender"]
    measured = t["spy_all_nodes"]["precision"]
    apart = (f", {_fmt(round(measured - d['precision'], 6))} from the prediction"
             if measured is not None and d["precision"] is not None else "")
    out.append(f"Dandelion++'s constants (each stem hop fluffs with probability {d['fluff_probability']:g}, "
               f"{d['mean_stem_hops']:g} hops on average; the sender always stems) predict a precision of "
               f"{_fmt(d['precision'])} for this spy ({d['fluff_probability']:g} / {d['mean_peers']:g} peers "
               f"per node); measured {_fmt(measured)}{apart}. The node that fluffed a transaction is the one "
               f"node that never shows it; it is known for {f['known']} transactions, and the sender's node "
               f"fluffed {_fmt(f['share'])} of them (95% interval {_interval(f['ci'])}; predicted "
               f"{d['fluffed_by_sender']:g}).\n")
    return "\n".join(out)
