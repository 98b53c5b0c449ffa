"""The coach PDF: reportlab layout of the report's text, tables, figures and still frames.

``build_report`` reads one athlete's data (:mod:`liftlab.reports.data`) and lays it out:
page 1 the summary (lifts, loads, readings in plain words, alignment, pain context, a small
figure), then one page per lift (curves, rep table, left-right, still frame), the sets
against load, the trend across sessions, strength by position, and the method,
provenance and disclaimer. Text is set in DejaVu Sans (matplotlib's bundled TTF) registered
with reportlab, so every font is embedded. A4 or US Letter.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import cm
from reportlab.lib.utils import ImageReader
from reportlab.platypus import (
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from liftlab import __version__
from liftlab.core.errors import InputError
from liftlab.reports import figures, text
from liftlab.reports.data import ReportData, TrialData, load_report_data, session_athletes
from liftlab.reports.still import peak_still
from liftlab.reports.summary import alignment_facts, load_response, rep_timing, with_numbers
from liftlab.storage.db import Database, open_database

log = logging.getLogger(__name__)

PageSize = Literal["a4", "letter"]
PAGE_SIZES: dict[str, tuple[float, float]] = {"a4": A4, "letter": LETTER}
FONT = "DejaVuSans"
FONT_BOLD = "DejaVuSans-Bold"
MARGIN = 1.6 * cm
EXERCISE_NAMES = {"squat": "back squat", "front_squat": "front squat", "clean": "clean",
                  "snatch": "snatch", "knee_curl": "knee-curl alignment movement"}
READING_TINTS = {"none": "#E8F5E9", "transient": "#FFF8E1", "red_flag": "#FFEBEE"}


def register_fonts() -> str:
    """Register DejaVu Sans (regular, bold, oblique) from matplotlib's fonts; idempotent."""
    from matplotlib import get_data_path
    from reportlab.lib.fonts import addMapping
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT in pdfmetrics.getRegisteredFontNames():
        return FONT
    folder = Path(get_data_path()) / "fonts" / "ttf"
    faces = {FONT: "DejaVuSans.ttf", FONT_BOLD: "DejaVuSans-Bold.ttf",
             f"{FONT}-Oblique": "DejaVuSans-Oblique.ttf",
             f"{FONT}-BoldOblique": "DejaVuSans-BoldOblique.ttf"}
    for name, filename in faces.items():
        pdfmetrics.registerFont(TTFont(name, str(folder / filename)))
    for bold, italic, name in ((0, 0, FONT), (1, 0, FONT_BOLD), (0, 1, f"{FONT}-Oblique"),
                               (1, 1, f"{FONT}-BoldOblique")):
        addMapping(FONT, bold, italic, name)
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=12.5, spaceAfter=4)
    return {
        "title": ParagraphStyle("title", parent=body, fontName=FONT_BOLD, fontSize=17,
                                leading=21, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=body, fontName=FONT_BOLD, fontSize=12.5, leading=16,
                             spaceBefore=6, spaceAfter=4),
        "h3": ParagraphStyle("h3", parent=body, fontName=FONT_BOLD, fontSize=10, leading=13,
                             spaceBefore=6, spaceAfter=2),
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=7.5, leading=10, spaceAfter=2,
                                textColor=colors.HexColor("#424242")),
        "cell": ParagraphStyle("cell", parent=body, fontSize=7.5, leading=9.5, spaceAfter=0),
        "cellb": ParagraphStyle("cellb", parent=body, fontName=FONT_BOLD, fontSize=7.5,
                                leading=9.5, spaceAfter=0),
        "box": ParagraphStyle("box", parent=body, fontSize=9, leading=12.5, borderPadding=6,
                              backColor=colors.HexColor("#F5F5F5"), spaceBefore=6,
                              spaceAfter=8),
    }


def _e(value: Any) -> str:
    return escape(str(value))


def _image(png: bytes, width: float, *, max_height: float | None = None) -> Image:
    w_px, h_px = ImageReader(io.BytesIO(png)).getSize()
    height = width * h_px / w_px
    if max_height is not None and height > max_height:
        width, height = max_height * w_px / h_px, max_height
    return Image(io.BytesIO(png), width=width, height=height)


def _table(rows: list[list[Any]], widths: Sequence[float], *, tints: dict[int, str] | None = None,
           header_rows: int = 1) -> Table:
    table = Table(rows, colWidths=list(widths), repeatRows=header_rows, hAlign="LEFT")
    style = [("FONTNAME", (0, 0), (-1, -1), FONT), ("FONTSIZE", (0, 0), (-1, -1), 7.5),
             ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
             ("BACKGROUND", (0, 0), (-1, header_rows - 1), colors.HexColor("#ECEFF1")),
             ("LINEBELOW", (0, 0), (-1, -1), 0.4, colors.HexColor("#CFD8DC")),
             ("TOPPADDING", (0, 0), (-1, -1), 2.5), ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5)]
    for row, tint in (tints or {}).items():
        style.append(("BACKGROUND", (-1, row), (-1, row), colors.HexColor(tint)))
    table.setStyle(TableStyle(style))
    return table


def _lr(rep_side: tuple[dict, dict], name: str, digits: int = 0) -> str:
    left, right = rep_side
    return f"{text.fmt_num(left.get(name), digits=digits)} / " \
           f"{text.fmt_num(right.get(name), digits=digits)}"


def _reading_cell(reading: str | None, reasons: Sequence[text.Reason]) -> str:
    label = text.reading_label(reading)
    if reading == "red_flag" and reasons:
        label += ": " + ", ".join(r.short for r in reasons)
    return label


class _Report:
    """Builds the flowables of one report from :class:`ReportData`."""

    def __init__(self, data: ReportData, *, width: float):
        self.data = data
        self.width = width
        self.s = _styles()
        self.threshold_mm = float(data.thresholds.shift_present_mm)

    def p(self, markup: str, style: str = "body") -> Paragraph:
        return Paragraph(markup, self.s[style])

    # ------------------------------------------------------------------ page 1
    def summary(self) -> list:
        d, session = self.data, self.data.session
        lifts = session.lifts
        out = [self.p(f"Knee tracking report: {_e(d.athlete)}", "title"),
               self.p(f"Session {_e(session.name)}, {session.date:%d %B %Y} "
                      f"(session id {session.id}). Report made {dt.date.today():%d %B %Y}.",
                      "small")]
        calib = [t for t in session.trials if t.is_calibration]
        if not lifts:
            out.append(self.p("No lifts were processed in this session"
                              + (" (only the knee-curl alignment movement)" if calib else "")
                              + ", so there is nothing to read yet. Run `liftlab process` on "
                                "the session's lifts and make the report again.", "box"))
            return out
        counts = {r: sum(t.reading == r for t in lifts) for r in ("red_flag", "transient", "none")}
        brief = "; ".join(f"{n} {text.reading_label(r).lower()}" for r, n in counts.items() if n)
        unread = sum(t.reading is None for t in lifts)
        if unread:
            brief += f"; {unread} not read (no repetitions found)"
        if any(t.alignment_source != "calibration" for t in lifts):
            brief += (". The athlete's alignment was not measured (no knee-curl movement), so "
                      "inward-shift readings may be overstated: see 'Build or movement?' below")
        out.append(self.p(f"<b>In brief:</b> {len(lifts)} lift{'s' if len(lifts) > 1 else ''} "
                          f"read: {brief}.", "box"))
        out.append(self.p("Lifts and readings", "h3"))
        rows: list[list[Any]] = [[self.p(h, "cellb") for h in
                                  ("Lift", "Exercise", "Load", "Reps", "Pain (0-10)", "Reading")]]
        tints = {}
        for i, t in enumerate(lifts, start=1):
            pain = text.fmt_num(max(t.pain)) if t.pain else "-"
            rows.append([self.p(_e(t.name), "cell"), self.p(EXERCISE_NAMES.get(
                t.exercise, _e(t.exercise)), "cell"),
                self.p(text.load_text(t.load_kg, t.percent_1rm), "cell"), str(len(t.reps)),
                pain, self.p(_e(_reading_cell(t.reading, t.reasons)), "cellb")])
            tints[i] = READING_TINTS.get(t.reading or "", "#FAFAFA")
        w = self.width
        out.append(_table(rows, [0.2 * w, 0.15 * w, 0.17 * w, 0.07 * w, 0.11 * w, 0.3 * w],
                          tints=tints))
        out.append(self.p("What we saw", "h3"))
        for t in lifts:
            out.append(self.p(f"<b>{_e(t.name)}</b> ({EXERCISE_NAMES.get(t.exercise, t.exercise)}"
                              f", {text.load_text(t.load_kg, t.percent_1rm)}): "
                              + _e(self._reading_sentence(t))))
        out.append(self.p("Build or movement?", "h3"))
        facts = alignment_facts(session, threshold_mm=self.threshold_mm)
        for sentence in text.alignment_sentences(
                facts.source, facts.left_deg, facts.right_deg, build_inside=facts.build_inside,
                caves_in=facts.caves_in, max_shift_mm=facts.max_shift_mm):
            out.append(self.p(_e(sentence)))
        if calib:
            out.append(self.p(f"Knee-curl alignment movement recorded in this session: "
                              f"{_e(', '.join(t.name for t in calib))}.", "small"))
        if session.pain_outside_lifting:
            out.append(self.p(
                "<b>Pain outside lifting</b> (from the session history, context only): "
                + _e(", ".join(session.pain_outside_lifting)) + ". It does not change any "
                "reading; readings use pain reported during the reps."))
        if any(t.reps for t in lifts):
            out.append(Spacer(1, 4))
            png = figures.summary_figure(lifts, threshold_mm=self.threshold_mm,
                                         width_cm=min(17.0, self.width / cm))
            out.append(_image(png, self.width, max_height=7 * cm))
            out.append(self.p("Largest inward knee shift of each lift, left and right, against "
                              "the threshold.", "small"))
        return out

    def _reading_sentence(self, t: TrialData) -> str:
        reasons = with_numbers(t, t.reasons, threshold_mm=self.threshold_mm)
        return text.reading_sentence(
            t.reading, reasons, threshold_mm=self.threshold_mm, peak_left_mm=t.peak_mm("left"),
            peak_right_mm=t.peak_mm("right"), n_reps=len(t.reps), n_valgus_reps=t.n_valgus_reps())

    # ------------------------------------------------------------------ per lift
    def trial(self, t: TrialData) -> list:
        out: list = [PageBreak(),
                     self.p(f"Lift {_e(t.name)}: {EXERCISE_NAMES.get(t.exercise, t.exercise)}, "
                            f"{text.load_text(t.load_kg, t.percent_1rm)}", "h2"),
                     self.p(f"<b>Reading: {_e(_reading_cell(t.reading, t.reasons))}</b>"),
                     self.p(_e(self._reading_sentence(t)))]
        if not t.reps:
            out.append(self.p("Check that the whole lift was in view of every camera and that "
                              "the athlete stood still before and after the set, then process "
                              "the session again.", "box"))
            return out
        if t.series is not None and "time_s" in t.series:
            png = figures.trial_figure(t.series, t.reps, threshold_mm=self.threshold_mm,
                                       width_cm=min(17.0, self.width / cm), height_cm=7.5)
            out.append(_image(png, self.width, max_height=7.5 * cm))
            out.append(self.p("Top: inward knee shift from the athlete's own hip-knee-ankle line "
                              "(what the reading uses). Bottom: knee over foot (what you see "
                              "from the front). Red dashed line: threshold.", "small"))
        else:
            out.append(self.p("No curve: the per-frame series of this lift is not stored "
                              "(process the session again to add it).", "small"))
        out.append(self.rep_table(t))
        out.append(self.p(_e(text.asymmetry_sentence(
            t.mean_peak_mm("left"), t.mean_peak_mm("right"), threshold_mm=self.threshold_mm))))
        out.append(self.still(t))
        return out

    def rep_table(self, t: TrialData) -> Table:
        head = ("Rep", "Inward shift L / R (mm)", "Knee over foot L / R (mm)", "Peak, time inside",
                "Back before lockout", "Heel lift L / R (mm)", "Foot turn L / R (deg)", "Pain",
                "Reading")
        rows: list[list[Any]] = [[self.p(h, "cellb") for h in head]]
        tints = {}
        baseline = float(self.data.thresholds.baseline_return_mm)
        for i, rep in enumerate(t.reps, start=1):
            timing = rep_timing(t.series, rep, baseline_return_mm=baseline,
                                threshold_mm=self.threshold_mm)
            sides = (rep.left, rep.right)
            rows.append([str(rep.index), _lr(sides, "medial_knee_shift_peak_mm"),
                         _lr(sides, "knee_over_foot_peak_mm"), self.p(timing.timing_text, "cell"),
                         timing.returned_text, _lr(sides, "heel_lift_mm"),
                         _lr(sides, "foot_rotation_deg"), text.fmt_num(rep.pain),
                         self.p(_e(_reading_cell(rep.reading, rep.reasons)), "cellb")])
            tints[i] = READING_TINTS.get(rep.reading, "#FAFAFA")
        w = self.width
        return _table(rows, [0.06 * w, 0.1 * w, 0.11 * w, 0.18 * w, 0.09 * w, 0.09 * w, 0.09 * w,
                             0.07 * w, 0.21 * w], tints=tints)

    def still(self, t: TrialData) -> Any:
        still = peak_still(t)
        if still.jpeg is None:
            return self.p(_e(still.caption), "small")
        image = _image(still.jpeg, 0.42 * self.width, max_height=6.5 * cm)
        caption = self.p(_e(still.caption), "small")
        table = Table([[image, caption]], colWidths=[0.45 * self.width, 0.55 * self.width],
                      hAlign="LEFT")
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                                   ("FONTNAME", (0, 0), (-1, -1), FONT)]))
        return KeepTogether([self.p("At the moment of peak inward knee shift", "h3"), table])

    # ------------------------------------------------------------------ later pages
    def across_sets(self) -> list:
        lifts = [t for t in self.data.session.lifts if t.reps]
        if len(lifts) < 2:
            return []
        out = [PageBreak(), self.p("Across sets: load and inward knee shift", "h2")]
        sentence = load_response(tuple(lifts))
        if sentence:
            out.append(self.p(_e(sentence)))
        png = figures.load_figure(lifts, threshold_mm=self.threshold_mm)
        out.append(_image(png, 0.75 * self.width))
        out.append(self.p("Each dot is one rep. Transient inward movement is more common near "
                          "maximal loads; the same movement at light loads is a red flag.",
                          "small"))
        return out

    def trend(self) -> list:
        history = self.data.history
        if len(history) < 2:
            return []
        out = [Spacer(1, 10), self.p("Trend across sessions", "h2")]
        png = figures.trend_figure(history, threshold_mm=self.threshold_mm,
                                   width_cm=min(17.0, self.width / cm))
        out.append(_image(png, self.width, max_height=7 * cm))
        rows: list[list[Any]] = [[self.p(h, "cellb") for h in (
            "Date", "Session", "Lifts", "Reps", "Red-flag reps", "Median peak L / R (mm)",
            "Heaviest (kg)")]]
        for h in history:
            mark = " (this report)" if h.id == self.data.session.id else ""
            rows.append([f"{h.date:%Y-%m-%d}", self.p(_e(h.name + mark), "cell"), h.n_trials,
                         h.n_reps, h.n_red_flag_reps,
                         f"{text.fmt_num(h.median_peak_left_mm)} / "
                         f"{text.fmt_num(h.median_peak_right_mm)}",
                         text.fmt_num(h.max_load_kg, digits=1)])
        w = self.width
        out.append(_table(rows, [0.13 * w, 0.27 * w, 0.08 * w, 0.08 * w, 0.12 * w, 0.18 * w,
                                 0.14 * w]))
        return out

    def strength(self) -> list:
        table = self.data.strength
        if table.empty:
            return []
        out = [Spacer(1, 10), self.p("Strength by test position", "h2")]
        rows: list[list[Any]] = [[self.p(h, "cellb") for h in (
            "Muscle group", "Position", "Left", "Right", "Both", "Unit", "Date")]]
        latest = table.sort_values("date").groupby(
            ["muscle_group", "position", "unit", "side"], as_index=False).last()
        for (muscle, position, unit), g in latest.groupby(["muscle_group", "position", "unit"]):
            value = {side: text.fmt_num(v, digits=0) for side, v in zip(g.side, g.value,
                                                                       strict=True)}
            rows.append([_e(muscle), position.replace("_", " "), value.get("left", "-"),
                         value.get("right", "-"), value.get("bilateral", "-"), unit,
                         f"{max(g.date):%Y-%m-%d}"])
        w = self.width
        out.append(_table(rows, [0.2 * w, 0.16 * w, 0.12 * w, 0.12 * w, 0.12 * w, 0.1 * w,
                                 0.16 * w]))
        pattern = self.data.strength_pattern
        if pattern is not None and not pattern.empty:
            for row in pattern.itertuples():
                if row.pattern in ("position-dependent deficit", "deficit in all positions",
                                   "deficit lying only"):
                    out.append(self.p(f"<b>{_e(row.muscle_group)}, {_e(row.side)}:</b> "
                                      f"{_e(row.pattern)} ({self._strength_numbers(row)})."))
            out.append(self.p(
                "A deficit that shows when tested seated or standing but not lying down points "
                "to a coordination or activation pattern rather than plain weakness, and calls "
                "for different training. A difference of 15% or more between sides (or between "
                "upright and lying) counts as a deficit.", "small"))
        return out

    @staticmethod
    def _strength_numbers(row: Any) -> str:
        parts = []
        for name, label in (("lr_deficit_upright_pct", "upright"),
                            ("lr_deficit_lying_pct", "lying")):
            value = getattr(row, name)
            if value is not None and value == value:
                parts.append(f"{value:.0f}% below the other side {label}")
        ratio = row.upright_to_lying_ratio
        if not parts and ratio is not None and ratio == ratio:
            parts.append(f"upright {100 * ratio:.0f}% of lying")
        return "; ".join(parts) or "see table"

    def method(self) -> list:
        d = self.data
        out = [PageBreak(), self.p("How to read this report", "h2")]
        thresholds = {f.name: getattr(d.thresholds, f.name) for f in fields(d.thresholds)}
        for note in text.method_notes(threshold=thresholds, threshold_source=d.threshold_source):
            out.append(self.p(_e(note)))
        out.append(self.p("Where the numbers come from", "h3"))
        rows: list[list[Any]] = [[self.p(h, "cellb") for h in (
            "Lift", "Processed", "Software", "Pose model", "Calibration", "Worst camera error")]]
        for t in d.session.trials:
            prov = t.provenance
            errors = [float(v) for v in prov.camera_errors_px.values()
                      if isinstance(v, int | float) and not isinstance(v, bool)]
            rows.append([self.p(_e(t.name), "cell"),
                         f"{prov.processed_at:%Y-%m-%d %H:%M}" if prov.processed_at else "-",
                         self.p(_e(f"liftlab {prov.software_version}" if prov.software_version
                                   else "-"), "cell"),
                         self.p(_e(prov.model or "-"), "cell"),
                         self.p(_e(prov.calibration_verdict or "not recorded"), "cell"),
                         f"{max(errors):.2f} px" if errors else "-"])
        w = self.width
        out.append(_table(rows, [0.2 * w, 0.15 * w, 0.14 * w, 0.2 * w, 0.16 * w, 0.15 * w]))
        out.append(self.p(f"Report made with liftlab {__version__}.", "small"))
        out.append(self.p("<b>Not medical advice.</b> " + _e(text.DISCLAIMER), "box"))
        return out

    def story(self) -> list:
        out = self.summary()
        for trial in self.data.session.lifts:
            out += self.trial(trial)
        out += self.across_sets()
        out += self.trend()
        out += self.strength()
        out += self.method()
        return out


def render_report(data: ReportData, out: str | Path, *, page: PageSize = "a4") -> Path:
    """Write the PDF of ``data`` to ``out`` (atomically: no partial file on failure)."""
    if page not in PAGE_SIZES:
        raise InputError(f"Expected page 'a4' or 'letter', but got {page!r}",
                         fix="use --page a4 or --page letter")
    register_fonts()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    size = PAGE_SIZES[page]
    tmp = out.with_name(out.name + ".tmp")
    doc = SimpleDocTemplate(str(tmp), pagesize=size, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=1.4 * cm, bottomMargin=1.5 * cm,
                            title=f"Knee tracking report: {data.athlete}",
                            author="liftlab", subject=f"session {data.session.name}",
                            creator=f"liftlab {__version__}", initialFontName=FONT,
                            initialFontSize=9, initialLeading=12.5)
    footer = (f"liftlab  |  {data.athlete}  |  {data.session.date:%Y-%m-%d}  |  "
              "educational information, not medical advice")

    def on_page(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(colors.HexColor("#757575"))
        canvas.drawString(MARGIN, 0.8 * cm, footer)
        canvas.drawRightString(size[0] - MARGIN, 0.8 * cm, f"page {document.page}")
        canvas.restoreState()

    report = _Report(data, width=size[0] - 2 * MARGIN)
    try:
        doc.build(report.story(), onFirstPage=on_page, onLaterPages=on_page)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _open(db_url_or_db: str | Database | None) -> tuple[Database, bool]:
    if isinstance(db_url_or_db, Database):
        return db_url_or_db, False
    return open_database(db_url_or_db), True


def build_report(db_url_or_db: str | Database | None, athlete: str, *,
                 session: str | int | None = None, out: str | Path,
                 page: PageSize = "a4") -> Path:
    """Write the coach PDF of ``athlete`` and return its path.

    Parameters
    ----------
    db_url_or_db
        An open :class:`Database`, or a URL (``None``: ``$LIFTLAB_DB`` or the default).
    athlete
        The athlete's stored name.
    session
        Session id, folder name or date; default: the newest session with processed trials.
    out
        The PDF file to write.
    page
        ``"a4"`` or ``"letter"``.

    Raises
    ------
    InputError
        Unknown athlete (close names listed), no processed trials, unknown session, bad page.
    """
    db, owned = _open(db_url_or_db)
    try:
        data = load_report_data(db, athlete, session=session)
    finally:
        if owned:
            db.dispose()
    return render_report(data, out, page=page)


def slug(name: str) -> str:
    """A file-name-safe form of ``name`` (letters, digits, ``-`` and ``_``)."""
    keep = "".join(c if c.isalnum() or c in "-_" else "_" for c in name.strip())
    return "_".join(part for part in keep.split("_") if part) or "athlete"


def build_session_reports(db: str | Database | None, session_id: str | int | None,
                          out_dir: str | Path, *, page: PageSize = "a4") -> list[Path]:
    """One PDF per athlete recorded on the lab day of ``session_id`` (id, folder name or date;
    ``None``: the newest day), written to ``out_dir`` as ``<athlete>_<date>_<session>.pdf``."""
    database, owned = _open(db)
    try:
        out_dir = Path(out_dir)
        paths = []
        for athlete, sid in session_athletes(database, session_id):
            data = load_report_data(database, athlete, session=sid)
            name = f"{slug(athlete)}_{data.session.date:%Y-%m-%d}_{slug(data.session.name)}.pdf"
            paths.append(render_report(data, out_dir / name, page=page))
        return paths
    finally:
        if owned:
            database.dispose()
