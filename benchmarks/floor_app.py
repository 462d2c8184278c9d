"""The floor of benchmarks/app_latency.py: a bare Streamlit page that shows the uploaded photo and one plotly chart.

What any Streamlit app that answers a photo upload with the photo and a chart must spend: the upload, a rerun,
decoding the photo, sending it back and drawing a plotly chart. Run by the benchmark, not by users.
"""

from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
import streamlit as st
from PIL import Image

st.set_page_config(page_title="Floor", layout="wide")
uploads = st.file_uploader("Photos", accept_multiple_files=True, key="photos")
if uploads:
    photo = Image.open(io.BytesIO(uploads[0].getvalue())).convert("RGB")
    st.image(photo, caption="Your photo", output_format="JPEG")
    means = np.asarray(photo, dtype=np.float32).mean(axis=(0, 1))
    st.plotly_chart(go.Figure(go.Bar(x=["red", "green", "blue"], y=means)), width="stretch")
