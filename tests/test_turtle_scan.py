from __future__ import annotations

from server.turtle.scan import scan

TEXT = """@prefix a: <http://a/> .
# header note
a:x a:p [ a:q ( 1 2 ) ] .

  a:y a:p \"\"\"x.
#not a comment\"\"\" ; # trailing
 a:q 1.5 .
PREFIX b: <http://b/>
b:z a:p a:o.
[] a:p "a # b" .
<rel> a:p 'it''s' .
"""


def test_statements_start_lines_and_subjects() -> None:
    result = scan(TEXT, base_iri="http://base/dir/")
    got = [(s.line, s.subject) for s in result.statements]
    assert got == [
        (3, "http://a/x"),
        (5, "http://a/y"),
        (9, "http://b/z"),
        (10, None),
        (11, "http://base/dir/rel"),
    ]


def test_comments_are_found_outside_strings_only() -> None:
    result = scan(TEXT)
    assert [(c.line, c.text, c.standalone) for c in result.comments] == [
        (2, "# header note", True),
        (6, "# trailing", False),
    ]


def test_prefixes_in_both_syntaxes() -> None:
    assert dict(scan(TEXT).prefixes) == {"a": "http://a/", "b": "http://b/"}


def test_escaped_local_names_resolve() -> None:
    result = scan("@prefix a: <http://a/> .\na:x\\.y a:p a:o .\n")
    assert result.statements[0].subject == "http://a/x.y"


def test_literal_over_the_limit_is_reported_with_its_line() -> None:
    text = '@prefix a: <http://a/> .\n\na:x a:p "' + "x" * 2000 + '" .\n'
    problem = scan(text, max_literal=1000).problems[0]
    assert (problem.line, problem.code) == (3, "KG-LITERAL-SIZE")
    assert "2,000 bytes" in problem.message


def test_literal_at_the_limit_is_accepted() -> None:
    text = '@prefix a: <http://a/> .\na:x a:p "' + "x" * 1000 + '" .\n'
    assert scan(text, max_literal=1000).problems == ()


def test_nesting_over_the_limit_is_reported() -> None:
    text = "@prefix a: <http://a/> .\na:x a:p " + "[ a:p " * 5 + "1" + " ]" * 5 + " .\n"
    assert scan(text, max_depth=5).problems == ()
    problem = scan(text, max_depth=4).problems[0]
    assert (problem.line, problem.code) == (2, "KG-DEPTH")


def test_ten_thousand_levels_stop_at_the_limit_quickly() -> None:
    text = "@prefix a: <http://a/> .\na:x a:p " + "[ a:p " * 10_000 + "1" + " ]" * 10_000 + " .\n"
    assert scan(text, max_depth=32).problems[0].code == "KG-DEPTH"
