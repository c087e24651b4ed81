"""The tagging service (``ner serve``): FastAPI app and batching of concurrent requests; needs the serve extra."""
