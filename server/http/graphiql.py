"""The GraphiQL explorer page.

Its scripts are served from server/static/graphiql (vendored from npm: graphiql 3.9.0, react and
react-dom 18.3.1), so the explorer works on a machine without internet access.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static" / "graphiql"
STATIC_PATH = "/graphiql-static"

DEFAULT_QUERY = """# Welcome to the clinic knowledge graph. Press Ctrl-Enter to run.
{
  condition(id: "failed-back-surgery-syndrome") {
    label
    causes(first: 3) {
      edges {
        role { label }
        node { label }
        statistics { statement citation }
      }
    }
  }
}
"""

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>clinic-kg GraphiQL (dataset {version})</title>
  <link rel="stylesheet" href="{static}/graphiql.min.css">
  <style>body {{ margin: 0; height: 100vh; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="{static}/react.production.min.js"></script>
  <script src="{static}/react-dom.production.min.js"></script>
  <script src="{static}/graphiql.min.js"></script>
  <script>
    const fetcher = GraphiQL.createFetcher({{ url: {endpoint} }});
    const root = ReactDOM.createRoot(document.getElementById("graphiql"));
    root.render(React.createElement(GraphiQL, {{
      fetcher: fetcher,
      defaultQuery: {query},
      defaultEditorToolsVisibility: false,
    }}));
  </script>
</body>
</html>
"""


def page(version: str, endpoint: str = "/graphql") -> str:
    """The HTML of the explorer, talking to `endpoint`."""
    return _PAGE.format(
        version=html.escape(version),
        static=STATIC_PATH,
        endpoint=_js(endpoint),
        query=_js(DEFAULT_QUERY),
    )


def _js(value: str) -> str:
    # json.dumps gives a JS string literal; escaping "</" keeps it from closing the script tag.
    return json.dumps(value).replace("</", "<\\/")
