"""Writing an evaluation: metrics.json, report.md, PNG charts and TensorBoard scalars.

    REPORT/metrics.json               everything evaluate_run.evaluate returns
    REPORT/report.md                  the tables a person reads
    REPORT/classification_error.png   error per target column, the floor marked
    REPORT/classifier_disagreement.png  with a second classifier: disagreement per column
    REPORT/reconstruction_l1.png      reconstruction L1 per target column
    REPORT/fid.png                    FID per target domain
    REPORT/ground_truth_l1.png        rendered data only: L1 against rendered truth
    REPORT/tensorboard/               the scalars, stepped by the checkpoint's iteration
"""

from __future__ import annotations

import json
import math
import os

import tensorflow as tf
from PIL import Image, ImageDraw, ImageFont

METRICS_FILE = "metrics.json"
REPORT_FILE = "report.md"
TENSORBOARD_DIR = "tensorboard"
# Quoted in the report as what it is, never as a yardstick: another data set, image size,
# classifier and task than any run this package evaluates.
PAPER_REFERENCE = ("For reference only, not a comparison: StarGAN on RaFD, 128 px, judged "
                   "by the paper's own classifier (Choi et al. 2018, table 3), has a "
                   "classification error of 2.12 % (0.45 % on real images); not the same "
                   "data or classifier as this report.")


def write_report(metrics: dict, output_dir: str) -> list[str]:
    """Write every report file for ``metrics``; returns the paths written."""
    os.makedirs(output_dir, exist_ok=True)
    paths = [os.path.join(output_dir, METRICS_FILE), os.path.join(output_dir, REPORT_FILE)]
    with open(paths[0], "w") as f:
        json.dump(metrics, f, indent=2)
    with open(paths[1], "w") as f:
        f.write(markdown(metrics))
    paths += write_charts(metrics, output_dir)
    write_scalars(metrics, os.path.join(output_dir, TENSORBOARD_DIR))
    return paths


def scalars(metrics: dict) -> dict[str, float]:
    """The headline numbers of whichever sections ``metrics`` has, by TensorBoard name."""
    values = {}
    for section, prefix in (("classification", ""), ("classification_second", "second_")):
        if section in metrics:
            verdict = metrics[section]
            values.update({
                f"eval/{prefix}classification_error": verdict["error"],
                f"eval/{prefix}classifier_real_error": verdict["floor"],
                f"eval/{prefix}target_accuracy": verdict["target_accuracy"],
                f"eval/{prefix}kept_rate": verdict["kept_rate"],
            })
    if "classification" in metrics:
        classification = metrics["classification"]
        if classification.get("critic_target_accuracy") is not None:
            values["eval/critic_target_accuracy"] = classification["critic_target_accuracy"]
        for key, entry in classification["per_target"].items():
            values[f"eval/classification_error/{key}"] = entry["error"]
    if "classifier_disagreement" in metrics:
        disagreement = metrics["classifier_disagreement"]
        values["eval/classifier_disagreement"] = disagreement["mean"]
        for key, value in disagreement["per_target"].items():
            values[f"eval/classifier_disagreement/{key}"] = value
    if "reconstruction" in metrics:
        values["eval/reconstruction_l1"] = metrics["reconstruction"]["l1"]
        values["eval/reconstruction_psnr"] = metrics["reconstruction"]["psnr"]
    if "fid_kid" in metrics:
        values["eval/fid"] = metrics["fid_kid"]["fid"]
        values["eval/kid"] = metrics["fid_kid"]["kid"]
    if "ground_truth" in metrics:
        for name in ("l1", "psnr", "ssim", "psnr_gain", "l1_gain"):
            values[f"eval/ground_truth_{name}"] = metrics["ground_truth"][name]
    return {k: v for k, v in values.items() if v is not None}


def write_scalars(metrics: dict, logdir: str) -> None:
    writer = tf.summary.create_file_writer(logdir)
    with writer.as_default(step=metrics["iteration"]):
        for name, value in scalars(metrics).items():
            tf.summary.scalar(name, value)
    writer.flush()


def _number(value, percent: bool = False, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    return f"{100 * value:.2f}%" if percent else f"{value:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def markdown(metrics: dict) -> str:
    """The report: headline, classification (by one or two classifiers), reconstruction,
    FID/KID, ground truth."""
    cls, rec, dist = metrics["classification"], metrics["reconstruction"], metrics["fid_kid"]
    second = metrics.get("classification_second")
    counts = ", ".join(f"{n} {k}" for k, n in metrics["num_images"].items())
    judges = f"Classifier {_describe(metrics['classifier'])}"
    if second is not None:
        judges += f", second classifier {_describe(metrics['second_classifier'])}"
    out = [
        f"# Evaluation of {metrics['run_dir']} at iteration {metrics['iteration']}\n",
        f"Dataset {metrics['dataset']}, held-out images: {counts}, seed {metrics['seed']}. "
        f"{judges}. FID/KID features: {dist['features']}.\n\n",
        _table(["metric", "value"], _headline(metrics)),
        f"\n{PAPER_REFERENCE}\n",
        "\n## Classification of translations, per target\n",
        "Error: the classifier does not put the translation in the target domain (every "
        "label as asked). Target: the changed label is as asked. Kept: labels outside the "
        "change stayed as they were (multi-label sets). D reads: the changed label as the "
        "run's D classifies it.\n\n",
        _table(["source -> target", "error", "target accuracy", "kept", "D reads target",
                "rec. L1", "rec. PSNR"],
               [[key, _number(e["error"], True), _number(e["target_accuracy"], True),
                 _number(e.get("kept_rate"), True),
                 _number(e.get("critic_target_accuracy"), True),
                 _number(rec["per_target"][key]["l1"]),
                 _number(rec["per_target"][key]["psnr"], digits=2)]
                for key, e in cls["per_target"].items()]),
    ]
    if second is not None:
        out += _two_classifiers(metrics)
    floors = [("Classifier error on real held-out images (the floor)", cls)]
    if second is not None:
        floors.append(("The second classifier's error on real held-out images (its floor)",
                       second))
    for title, section in floors:
        out += [
            f"\n## {title}\n\n",
            _table(["label set", "error", "images"],
                   [[k, _number(v["error"], True), str(v["num_images"])]
                    for k, v in section["real_error"].items()]),
        ]
    out += [
        f"\n## FID and KID per target domain ({dist['features']})\n\n",
        _table(["domain", "FID", "KID", "KID std", "translations", "real"],
               [[k, _number(e["fid"], digits=3), _number(e["kid"]), _number(e["kid_std"]),
                 str(e["num_fake"]), str(e["num_real"])] for k, e in dist["per_domain"].items()]),
    ]
    if "ground_truth" in metrics:
        out += _ground_truth(metrics["ground_truth"])
    return "".join(out)


def _headline(metrics: dict) -> list[list[str]]:
    cls, rec, dist = metrics["classification"], metrics["reconstruction"], metrics["fid_kid"]
    rows = [
        ["classification error of translations (mean over targets)",
         _number(cls["error"], True)],
        ["classifier error on the same real images (floor)", _number(cls["floor"], True)],
        ["target label accuracy", _number(cls["target_accuracy"], True)],
        ["unchanged labels kept", _number(cls["kept_rate"], True)],
        ["target label as D's own classifier reads it (far above the target label "
         "accuracy: G fools D instead of translating)",
         _number(cls.get("critic_target_accuracy"), True)],
    ]
    if "classification_second" in metrics:
        second = metrics["classification_second"]
        rows += [
            ["second classifier: classification error of translations",
             _number(second["error"], True)],
            ["second classifier: error on the same real images (floor)",
             _number(second["floor"], True)],
            ["second classifier: target label accuracy",
             _number(second["target_accuracy"], True)],
            ["the classifiers disagree on the target label (mean over targets)",
             _number(metrics["classifier_disagreement"]["mean"], True)],
        ]
    rows += [
        ["reconstruction L1 / PSNR (dB)",
         f"{_number(rec['l1'])} / {_number(rec['psnr'], digits=2)}"],
        ["FID / KID (mean over domains)", f"{_number(dist['fid'], digits=3)} / "
                                          f"{_number(dist['kid'])}"],
    ]
    if "ground_truth" in metrics:
        rows.append(["truth PSNR gained over returning the input (dB)",
                     _number(metrics["ground_truth"]["psnr_gain"], digits=2)])
    return rows


def _two_classifiers(metrics: dict) -> list[str]:
    first, second = metrics["classification"], metrics["classification_second"]
    first_arch = metrics["classifier"]["arch"]
    second_arch = metrics["second_classifier"]["arch"]
    disagreement = metrics["classifier_disagreement"]["per_target"]
    return [
        "\n## Two classifiers, per target\n\n",
        "Each classifier's verdict on the same translations. Disagreement: the share of "
        "translations that one classifier reads as having the changed label as asked and "
        "the other does not. A partial edit can pass one classifier and fail the other, so "
        "a high disagreement means neither verdict stands alone.\n\n",
        _table(["source -> target", f"error ({first_arch})", f"error ({second_arch})",
                f"target accuracy ({first_arch})", f"target accuracy ({second_arch})",
                "disagreement"],
               [[key, _number(e["error"], True),
                 _number(second["per_target"][key]["error"], True),
                 _number(e["target_accuracy"], True),
                 _number(second["per_target"][key]["target_accuracy"], True),
                 _number(disagreement[key], True)]
                for key, e in first["per_target"].items()]),
    ]


def _ground_truth(truth: dict) -> list[str]:
    def row(name: str, e: dict) -> list[str]:
        return [name, _number(e["l1"]), _number(e["psnr"], digits=2), _number(e["ssim"]),
                str(e["changed"]), _number(e["input_psnr"], digits=2),
                _number(e["psnr_gain"], digits=2), _number(e["l1_gain"])]

    return [
        "\n## Against the rendered ground truth\n\n",
        "L1, PSNR and SSIM of G's translations against the true translation, over all "
        "translations. Changed: the translations whose truth differs from the input; over "
        "those, the input's own truth PSNR (what returning the input scores) and what G "
        "gains over it, in PSNR and in L1: positive where G is closer to the truth than its "
        "input, negative where it is further. A partial edit shows as a small gain.\n\n",
        _table(["source -> target", "L1", "PSNR (dB)", "SSIM", "changed", "input PSNR (dB)",
                "PSNR gain (dB)", "L1 gain"],
               [row(k, e) for k, e in truth["per_target"].items()] + [row("**all**", truth)]),
    ]


def _describe(classifier: dict) -> str:
    return f"{classifier['path']} ({classifier['arch']}, {classifier['image_size']} px)"


def write_charts(metrics: dict, output_dir: str) -> list[str]:
    """One horizontal bar chart per per-target metric; returns the paths written."""
    cls = metrics["classification"]
    charts = [
        ("classification_error.png", "Classification error of translations (%)",
         {k: 100 * e["error"] for k, e in cls["per_target"].items()},
         {"floor (real images)": 100 * cls["floor"]}),
        ("reconstruction_l1.png", "Reconstruction L1, x vs G(G(x, c), c_org)",
         {k: e["l1"] for k, e in metrics["reconstruction"]["per_target"].items()}, {}),
        ("fid.png", f"FID per target domain ({metrics['fid_kid']['features']})",
         {k: e["fid"] for k, e in metrics["fid_kid"]["per_domain"].items()
          if e["fid"] is not None}, {}),
    ]
    if "classifier_disagreement" in metrics:
        charts.insert(1, ("classifier_disagreement.png",
                          "Classifiers disagreeing on the target label (%)",
                          {k: 100 * v for k, v in
                           metrics["classifier_disagreement"]["per_target"].items()}, {}))
    if "ground_truth" in metrics:
        charts.append(("ground_truth_l1.png", "L1 against the rendered ground truth",
                       {k: e["l1"] for k, e in metrics["ground_truth"]["per_target"].items()},
                       {}))
    paths = []
    for filename, title, values, lines in charts:
        path = os.path.join(output_dir, filename)
        bar_chart(title, values, path, lines)
        paths.append(path)
    return paths


_LINE_COLOURS = ((200, 40, 40), (40, 110, 200))


def bar_chart(title: str, values: dict[str, float], path: str,
              lines: dict[str, float] | None = None) -> None:
    """A horizontal bar chart PNG: one labelled bar per value, optional vertical lines."""
    font = ImageFont.load_default()
    lines = lines or {}
    row, label_width, bar_width, top = 18, 220, 360, 44
    height = top + row * max(len(values), 1) + 20 + 14 * len(lines)
    image = Image.new("RGB", (label_width + bar_width + 90, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((8, 8), title, fill="black", font=font)
    finite = [v for v in list(values.values()) + list(lines.values()) if math.isfinite(v)]
    scale = bar_width / max(max(finite, default=1.0), 1e-12)
    for i, (name, value) in enumerate(values.items()):
        y = top + i * row
        draw.text((8, y + 2), name[:36], fill="black", font=font)
        length = bar_width if not math.isfinite(value) else max(value, 0.0) * scale
        draw.rectangle([label_width, y + 2, label_width + length, y + row - 3],
                       fill=(90, 140, 190))
        draw.text((label_width + length + 4, y + 2), f"{value:.4g}", fill="black", font=font)
    bottom = top + row * max(len(values), 1)
    for j, (name, value) in enumerate(lines.items()):
        x = label_width + value * scale
        colour = _LINE_COLOURS[j % len(_LINE_COLOURS)]
        draw.line([x, top - 4, x, bottom], fill=colour, width=2)
        draw.text((8, bottom + 6 + 14 * j), f"{name}: {value:.4g}", fill=colour, font=font)
    image.save(path)
