from corpus.cli import app

app(prog_name="corpus")
