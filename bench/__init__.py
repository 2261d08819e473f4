"""`make bench`: the pipeline measured against its goals (issue 5); `python -m bench --help` lists them."""
