"""The Streamlit app's own helpers (`app.py` and `pages/` use them): cached models and results, figures, and the
safety banner and look-alike comparison. Kept out of the `champy` library, which never imports Streamlit."""
