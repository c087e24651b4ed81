"""What several sub-commands share: backend names and the help of the column flags."""

BACKENDS = ("tensorflow", "jax")
# --tokens-column / --tags-column of every command that reads a corpus (--token-col / --tag-col: CoNLL files)
TOKENS_COLUMN_HELP = "table sources (save_to_disk, parquet, json, hf:), not CoNLL files: column of the tokens " \
                     "(default: detected, tokens or words)"
TAGS_COLUMN_HELP = "table sources (save_to_disk, parquet, json, hf:), not CoNLL files: column of the tags, strings " \
                   "or ClassLabel ids (default: detected, tags, ner_tags, labels or ner)"
