"""What the Streamlit pages share: cached models and results, upload checks, and the figures they draw.

The pages stay thin: they lay out widgets and call these functions. Models are loaded once per
server process (`st.cache_resource`); identifications are cached per photo content (the sha256 of
the uploaded bytes) and per model, so a rerun of the page never runs the network again. The cache
keeps only what the page shows (display-size images and the answer), at most `RESULTS_CACHE_BYTES`,
each for `RESULTS_CACHE_TTL_S` seconds. An identification in flight is shared (a rerun or another session
with the same photos waits for it), at most `MAX_IDENTIFICATIONS` run at once in the process (the others wait
in arrival order and the page says so; one whose session has gone is dropped, while it waits or between the
decodes of its photos), and the photos of a request are decoded once for every model that reduces them alike
(`DECODED`: the Compare page's models share one decode).
"""

from __future__ import annotations

import base64
import hashlib
import io
import string
import sys
import threading
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from PIL import Image, ImageOps
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx, script_runner

from champy.errors import BadImageError, ChampyError
from champy.fair_slots import Abandoned, FairSlots
from champy.gbif import OccurrenceResult, get_occurrences
from champy.images import check_photo_count, check_request, load_image, photo_reduction
from champy.inference import Identification, identify_specimen, load_model, read_model_card
from champy.paths import DATA_DIR, DEFAULT_MODEL, MODELS_DIR
from champy.result_cache import ResultCache
from champy.scoring.percent import probability_text
from champy_app import wording

DEFAULT_SNAPSHOT = DATA_DIR / "occurrences_snapshot.csv"
RESULT_CAPTION = "Where the model looked (Grad-CAM)"
"""The caption under the Grad-CAM overlay: its appearance marks a finished identification."""
LINK_BREAK = "\u2060"
"""The invisible word joiner `as_text` puts before ':', '.' and '@'."""
RESULTS_CACHE_BYTES = 128 * 2**20
RESULTS_CACHE_TTL_S = 15 * 60
MAX_IDENTIFICATIONS = 2
"""Identifications running at once in the server process (one per core; each uses the cores it needs)."""
DECODED_CACHE_BYTES = 64 * 2**20
DECODED_CACHE_TTL_S = 60
THUMBNAIL_SIDE = 112
"""Pixels of a candidate's reference thumbnail (shown at 3.5 rem: sharp on a phone's dense screen)."""
STATIC_CHART = {"displayModeBar": False}
"""The plotly config of the app's small charts: no toolbar over their titles (it hides them on a phone)."""
STUDY_BACKBONES = {backbone: wording.BACKBONE_NAMES[backbone] for backbone in ("vgg16", "resnet50", "efficientnet_b0")}
"""The backbones of the comparison study, with the names people know them by."""

EDIBILITY_STYLE = {
    # edibility: (label, badge colour, material icon, bar colour). Never green: "edible" holds only if the
    # identification is right, and the page must not make any answer look safe.
    "deadly": ("Deadly", "red", "skull", "#b2182b"),
    "poisonous": ("Poisonous", "orange", "warning", "#e66101"),
    "inedible": ("Inedible", "gray", "block", "#8c8c8c"),
    "edible": ("Edible if the identification is right", "blue", "restaurant", "#4393c3"),
    "choice": ("Choice edible if the identification is right", "blue", "star", "#2166ac"),
    "unknown": ("Edibility unknown", "gray", "help", "#bdbdbd"),
}


class Upload(Protocol):
    """What Streamlit's uploader and camera hand the page: a name and the bytes."""

    name: str

    def getvalue(self) -> bytes: ...


def max_upload_bytes() -> int:
    """The upload limit set in `.streamlit/config.toml` (`server.maxUploadSize`, in MB)."""
    return int(st.get_option("server.maxUploadSize")) * 1024 * 1024


def read_upload(upload: Upload) -> bytes:
    """The uploaded bytes, or BadImageError when the file is empty or larger than the upload limit."""
    data = upload.getvalue()
    if not data:
        raise BadImageError(f"{upload.name} is empty (0 bytes): choose a photo file")
    limit = max_upload_bytes()
    if len(data) > limit:
        raise BadImageError(f"{upload.name} is {len(data) / 2**20:.1f} MB, more than the {limit // 2**20} MB limit")
    return data


def as_text(value: object) -> str:
    """`value` escaped for Streamlit markdown so that it shows as the plain text it is: no link, image, HTML,
    emphasis or colour. Every ASCII punctuation mark is backslash-escaped, line breaks and controls become
    spaces, and an invisible word joiner goes before each ':', '.' and '@', which keeps web and e-mail
    addresses from being turned into links (GitHub-flavoured markdown finds those in plain text)."""
    flat = "".join(" " if ch.isspace() or not ch.isprintable() else ch for ch in str(value))
    return "".join(LINK_BREAK * (ch in ":.@") + f"\\{ch}" if ch in string.punctuation else ch for ch in flat)


def brief(message: object, limit: int = 160) -> str:
    """A message on one line, cut to `limit` characters (a library's internal detail can run long)."""
    line = " ".join(str(message).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def photos_digest(photos: list[bytes]) -> str:
    """One sha256 for a set of photos (order matters: the first photo is shown first)."""
    combined = hashlib.sha256()
    for photo in photos:
        combined.update(hashlib.sha256(photo).digest())
    return combined.hexdigest()


@st.cache_resource(show_spinner=False)
def ready_models() -> set[str]:
    """The models this server process has loaded (`cached_model`), kept as long as they are."""
    return set()


@st.cache_resource(show_spinner=False)  # the pages say what they wait for, in one message (`waiting_message`)
def cached_model(name: str):
    """The model `name`, loaded once per server process: from its compiled form without TensorFlow, compiled first
    (with TensorFlow, once per machine) when the cache lacks it (`champy.inference.load_model`)."""
    model = load_model(name)
    ready_models().add(name)
    return model


def waiting_message(model_name: str, task: str = "Identifying") -> str:
    """What a page says while `model_name` works (shown after half a second): the first answer after a start also
    loads the model, which a new machine compiles first."""
    if model_name in ready_models():
        return f"{task}…"
    then = task[:1].lower() + task[1:]
    return f"Preparing the networks, then {then}… The first answer after a start can take up to a minute."


def identification_bytes(result: Identification) -> int:
    """The memory an identification's images take (the shown photo and the Grad-CAM overlays)."""
    photo = result.photo.width * result.photo.height * 4 if result.photo is not None else 0
    return photo + sum(image.nbytes for image in result.overlays)


IDENTIFICATIONS: ResultCache[Identification] = ResultCache(
    RESULTS_CACHE_BYTES, RESULTS_CACHE_TTL_S, identification_bytes
)
"""Recent identifications of this server process, by photo content and model: display-size images and the answer."""
IDENTIFYING = FairSlots(MAX_IDENTIFICATIONS)
"""The identifications running now; the others wait in arrival order."""
DECODED: ResultCache[list[Image.Image]] = ResultCache(
    DECODED_CACHE_BYTES, DECODED_CACHE_TTL_S, lambda images: sum(image.width * image.height * 3 for image in images)
)
"""Photos decoded for a model in the last minute, by content and reduction (`champy.images.photo_reduction`)."""


def decoded_photos(
    photos: list[tuple[str, bytes]], digest: str, draft_size: int, gone: Callable[[], bool] = lambda: False
) -> list[Image.Image]:
    """The (name, bytes) photos decoded for `draft_size`, shared with any model that reduces them alike. `gone` is
    asked before each photo whether the requester has gone (then `Abandoned` is raised, and another requester of the
    same photos decodes them itself)."""
    reductions = tuple(photo_reduction(data, draft_size) for _, data in photos)

    def decode() -> list[Image.Image]:
        decoded = []
        for name, data in photos:
            if gone():
                raise Abandoned
            decoded.append(load_image(data, name=name, draft_size=draft_size))
        return decoded

    return DECODED.get_or_compute((digest, reductions), decode)


def session_gone() -> Callable[[], bool]:
    """Whether the browser session running this page has gone (its tab closed or its connection lost), asked
    later; never, outside a page run."""
    context = get_script_run_ctx()
    if context is None or not Runtime.exists():  # outside a served page (AppTest, a script)
        return lambda: False
    return lambda: not Runtime.instance().is_active_session(context.session_id)


def waiting_notice(place: Any, ahead: int) -> None:
    """Say in `place` (a page placeholder) that this identification waits for a free turn, and how many wait before
    it."""
    before = f"{ahead} more wait before yours" if ahead else "yours is next"
    place.info(
        f"The server is busy: {MAX_IDENTIFICATIONS} identifications are running and {before}. "
        "Yours starts as soon as a turn is free (first come, first served).",
        icon=":material/hourglass_top:",
    )


def identify_photos(photos: list[tuple[str, bytes]], model_name: str) -> Identification:
    """Identify one specimen from one or several (name, bytes) photos with `model_name`, cached per photo content,
    shared while in flight, one of at most `MAX_IDENTIFICATIONS` at a time; dropped, while it waits or between the
    decodes of its photos, when its browser session has gone."""
    names, contents = zip(*photos)
    digest = photos_digest(list(contents))

    def compute() -> Identification:
        notice, gone = st.empty(), session_gone()
        with IDENTIFYING.hold(1, on_wait=lambda ahead: waiting_notice(notice, ahead), gone=gone):
            notice.empty()
            model = cached_model(model_name)
            decoded = decoded_photos(photos, digest, 2 * model.size, gone)
            return identify_specimen(contents, model, top_k=5, explain=True, names=names, decoded=decoded)

    try:
        return IDENTIFICATIONS.get_or_compute((digest, model_name, names), compute)
    except Abandoned:  # the browser session went while this waited or decoded its photos: nothing is left to show
        st.stop()


def read_uploads(uploads: list[Upload]) -> list[tuple[str, bytes]]:
    """(name, bytes) of the photos of one specimen, each checked by `read_upload`, together by `check_request`
    (at most `MAX_PHOTOS` photos, `MAX_REQUEST_PIXELS` pixels in all)."""
    check_photo_count(len(uploads))
    photos = [(upload.name, read_upload(upload)) for upload in uploads]
    check_request(photos)
    return photos


def occurrence_snapshot(model_name: str) -> Path:
    """The offline occurrences for a model's species: `models/<model>.occurrences.csv`, else the bundled snapshot."""
    own = MODELS_DIR / f"{model_name}.occurrences.csv"
    return own if own.is_file() else DEFAULT_SNAPSHOT


@st.cache_data(ttl=3600, max_entries=64, show_spinner="Looking up where it grows…")
def cached_occurrences(species: str, snapshot: Path) -> OccurrenceResult:
    """GBIF records of `species` (live, else the offline snapshot), kept for an hour."""
    return get_occurrences(species, snapshot=snapshot)


@st.cache_data(show_spinner=False)
def model_card(name: str) -> dict[str, Any]:
    """The card of shipped model `name`, read without loading the network."""
    return read_model_card(name)


def model_label(name: str) -> str:
    """A shipped model's name as people read it (`wording.model_label`, with the backbone its card names)."""
    return wording.model_label(name, model_card(name).get("backbone", ""))


def model_select(place: Any, names: list[str], key: str, help: str | None = None) -> str:
    """A chooser of `names` in `place` (a page or a container), on the shipped default unless changed."""
    default = names.index(DEFAULT_MODEL) if DEFAULT_MODEL in names else 0
    return place.selectbox("Model", names, index=default, key=key, format_func=model_label, help=help)


def edibility_badge(edibility: str) -> str:
    """Streamlit markdown for a coloured edibility badge."""
    label, colour, icon, _ = EDIBILITY_STYLE.get(edibility, EDIBILITY_STYLE["unknown"])
    return f":{colour}-badge[:material/{icon}: {label}]"


def percent(probability: float) -> str:
    """0.8731 -> '87.3 %'."""
    return f"{100 * probability:.1f} %"


def probability_bar(probability: float, colour: str) -> str:
    """A thin bar filled to `probability` of its width in `colour`, as HTML (drawn by the browser, no chart)."""
    return (
        f'<div role="img" aria-label="{probability_text(probability)}" '
        'style="height:6px;border-radius:3px;background:#e8e8e8">'
        f'<div style="width:{100 * min(max(probability, 0.0), 1.0):.1f}%;height:6px;border-radius:3px;'
        f'background:{colour}"></div></div>'
    )


@lru_cache(maxsize=256)
def thumbnail_uri(path: Path) -> str:
    """A photo as a small square JPEG (`THUMBNAIL_SIDE` pixels, centre-cropped) in a data URI: a candidate's
    thumbnail travels inside its line, with no request of its own."""
    with Image.open(path) as image:
        thumbnail = ImageOps.fit(image.convert("RGB"), (THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    buffer = io.BytesIO()
    thumbnail.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def total_ms(timings_ms: dict[str, float]) -> float:
    """The whole identification time: preprocessing, prediction and Grad-CAM."""
    return float(sum(timings_ms.values()))


def training_history(card: dict) -> pd.DataFrame:
    """The card's training history with a running epoch number across both phases."""
    history = pd.DataFrame(card.get("training", {}).get("history", []))
    if history.empty:
        return history
    history["step"] = range(1, len(history) + 1)
    return history


def training_figure(history: pd.DataFrame, metric: str) -> go.Figure:
    """Training and validation `metric` per epoch, with a line where fine-tuning starts."""
    figure = go.Figure()
    for column, label in ((metric, "training"), (f"val_{metric}", "validation")):
        if column in history:
            figure.add_scatter(x=history["step"], y=history[column], mode="lines+markers", name=label)
    if "phase" in history and history["phase"].nunique() > 1:
        first_finetune = history.loc[history["phase"] == history["phase"].max(), "step"].min()
        figure.add_vline(x=first_finetune - 0.5, line_dash="dot", annotation_text="fine-tuning")
    figure.update_layout(
        title={"text": metric.replace("_", " ")},
        xaxis={"title": {"text": "epoch (both phases)"}},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        height=320,
    )
    return figure


def per_class_figure(card: dict) -> go.Figure:
    """Test precision and recall of every class, grouped bars."""
    per_class = pd.DataFrame(card["metrics"]["test"]["per_class"])
    figure = go.Figure()
    for metric in ("precision", "recall"):
        figure.add_bar(
            x=per_class["name"],
            y=per_class[metric],
            name=metric,
            customdata=per_class["support"],
            hovertemplate="%{x}<br>" + metric + " %{y:.2f}<br>%{customdata} test photos<extra></extra>",
        )
    figure.update_layout(
        barmode="group",
        yaxis={"range": [0, 1], "title": {"text": "share of test photos (0-1)"}},
        xaxis={"tickangle": -45, "automargin": True},
        legend={"orientation": "h", "y": 1.08},
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        height=420,
    )
    return figure


def class_counts_frame(card: dict) -> pd.DataFrame:
    """Photos per class in each split of a model's training data."""
    rows = []
    for label in card["labels"]:
        count = label.get("count", {})
        rows.append(
            {
                "class": label["name"],
                "genus": label.get("genus", ""),
                "family": label.get("family", ""),
                "train": count.get("train", 0),
                "validation": count.get("val", 0),
                "test": count.get("test", 0),
            }
        )
    frame = pd.DataFrame(rows)
    frame["total"] = frame[["train", "validation", "test"]].sum(axis=1)
    return frame.sort_values("total", ascending=False, ignore_index=True)


def species_choices(catalogue: pd.DataFrame, classes: list[str]) -> list[str]:
    """The catalogue's species: the model's `classes` that have photos first (in their order), then the rest A-Z."""
    available = set(catalogue["species"])
    first = [name for name in classes if name in available]
    return first + sorted(available - set(first))


def photo_caption(row: pd.Series) -> str:
    """'© author · licence' for a sample photo."""
    author = row.get("author") or "unknown photographer"
    return f"© {author} · {row.get('license') or 'licence unknown'}"


def _warm_up(model_name: str) -> None:
    """Load `model_name` (compiling it first if the cache lacks it) and identify one plain photo with it, so the
    first upload finds the network ready."""
    photo = io.BytesIO()
    Image.new("RGB", (320, 320), (128, 96, 64)).save(photo, format="JPEG")
    try:
        identify_specimen([io.BytesIO(photo.getvalue())], cached_model(model_name), top_k=1, explain=True)
    except ChampyError:
        return  # a broken model is reported to the user when they choose it, not here


@st.cache_resource(show_spinner=False)
def start_warm_up(model_name: str) -> threading.Thread:
    """Warm `model_name` up in the background, once per server process (the page does not wait for it)."""
    thread = threading.Thread(target=_warm_up, args=(model_name,), name=f"warm-up {model_name}", daemon=True)
    thread.start()
    return thread


def _clean_up_without_keras() -> None:
    """Streamlit's clean-up after each script run, less its `keras.backend.clear_session()`."""
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


def keep_keras_session() -> None:
    """Stop Streamlit from clearing the Keras session after every run of a page.

    Streamlit calls `keras.backend.clear_session()` once a script run ends: that drops TensorFlow's kernel
    cache, so the next identification takes about 1 s instead of 50 ms, and its garbage collection takes
    another 0.5 s. The app keeps its models across runs on purpose (`cached_model`), so it keeps the session too.
    """
    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = _clean_up_without_keras


HEAT_SCALE_HTML = (
    '<div style="margin-top:-0.5rem">'
    '<div style="height:10px;border-radius:3px;background:linear-gradient(to right,'
    '#00007f,#0000ff,#00ffff,#ffff00,#ff0000,#7f0000)"></div>'
    '<div style="display:flex;justify-content:space-between;font-size:0.8rem;color:#6b6b6b">'
    "<span>little weight</span><span>what decided the answer</span></div></div>"
)
"""The colour scale of the Grad-CAM overlay (OpenCV's JET map, `champy.inference.gradcam.overlay`), as HTML."""
