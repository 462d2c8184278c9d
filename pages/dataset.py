"""The training data: the class balance of the default model and a gallery of the licensed photos, credited."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from champy import card_sections as sections
from champy.inference import DEFAULT_MODEL, available_models
from champy.photo_gallery import first_photo_per_species, licensed_photos
from champy_app import support

PHOTOS_PER_ROW = 4


@st.cache_data(show_spinner=False)
def gallery_catalogue() -> pd.DataFrame:
    """The shipped licensed photos, read once per server process."""
    return licensed_photos()


def show_classes(model_name: str) -> list[str]:
    """The class balance of `model_name`'s training data; returns the class names."""
    card = support.model_card(model_name)
    counts = support.class_counts_frame(card)
    st.subheader("Class balance")
    largest, smallest = counts.iloc[0], counts.iloc[-1]
    st.caption(
        f"Photos per class of {support.as_text(model_name)}, by split: from {largest['total']} "
        f"({support.as_text(largest['class'])}) down to {smallest['total']} ({support.as_text(smallest['class'])}); "
        f"{counts['total'].sum()} photos in all."
    )
    st.plotly_chart(
        sections.class_balance_figure(card), width="stretch", config=support.STATIC_CHART, key="class_balance"
    )
    with st.expander("The classes as a table"):
        st.dataframe(counts, hide_index=True, width="stretch")
    return counts["class"].tolist()


def photo_grid(photos: pd.DataFrame, caption) -> None:
    """`photos` in rows of `PHOTOS_PER_ROW` (stacked on a phone), each with `caption(row)` and its source link."""
    for start in range(0, len(photos), PHOTOS_PER_ROW):
        for column, (_, photo) in zip(
            st.columns(PHOTOS_PER_ROW), photos.iloc[start : start + PHOTOS_PER_ROW].iterrows()
        ):
            column.image(str(photo["file"]), caption=caption(photo), width="stretch")
            if photo["url"]:
                column.caption(f"[source]({photo['url']})")


def show_class_gallery(catalogue: pd.DataFrame, classes: list[str]) -> None:
    st.subheader("One photo of each class")
    photos = first_photo_per_species(catalogue, classes)
    missing = [name for name in classes if name not in set(photos["species"]) and name != sections.OTHER_CLASS]
    st.caption(f"{len(photos)} of the model's classes have a photo under a Creative Commons licence, credited below.")
    photo_grid(photos, lambda photo: f"{photo['species']} · {support.photo_caption(photo)}")
    if missing:
        st.caption(f"No licensed photo to show for: {support.as_text(', '.join(missing))}.")


def show_samples(catalogue: pd.DataFrame, classes: list[str]) -> None:
    st.subheader("Every licensed photo of a species")
    species = st.selectbox(
        "Species",
        support.species_choices(catalogue, classes),
        key="sample_species",
        help="The model's own classes come first, then every other species with licensed photos.",
    )
    photo_grid(catalogue[catalogue["species"] == species], support.photo_caption)


def main() -> None:
    st.title("The dataset")
    names = available_models()
    classes = show_classes(DEFAULT_MODEL if DEFAULT_MODEL in names else names[0]) if names else []
    catalogue = gallery_catalogue()
    if catalogue.empty:
        st.info("No licensed photos are installed (`data/sample_photos/`, `data/reference_photos/`).")
        return
    show_class_gallery(catalogue, classes)
    show_samples(catalogue, classes)


main()
