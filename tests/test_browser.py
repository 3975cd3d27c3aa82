"""The annotator's path in a real browser: Debian's Chromium, driven by Playwright, against the
session's real Label Studio 1.23.2.

Offsets are where annotation tools break (Label Studio #1347, #4988: UTF-16 offsets around
emoji). These tests log in through the real form, label with the mouse and pull the round, so a
span made in the browser must come back with ``text[start:end]`` equal to the words selected.

The browser is the system Chromium (``scripts/install-browser``), never a downloaded one.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import write_article
from playwright.sync_api import Browser, Locator, Page, ViewportSize, sync_playwright
from studio_fixtures import Annotator

from corpus.ingestion import ingest
from corpus.label_schema import AnnotationSchema
from corpus.labelstudio import StudioClient, StudioInfo
from corpus.labelstudio.config import hotkeys, instructions_html
from corpus.preannotate import KeywordPreAnnotator
from corpus.rounds import pull_round, start_round
from corpus.rounds.state import load_round
from corpus.store import Store

pytestmark = pytest.mark.studio

CHROMIUM = Path("/usr/bin/chromium")
# What a root container needs; no network chatter of Chromium's own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1100, "height": 700}
TIMEOUT_MS = 60_000  # CI is a 2-core machine; the first page load compiles a large bundle
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "figures" / "labelling.png"
# Read at import: the autouse clean_environ fixture removes CORPUS_* before each test runs.
UPDATE_SCREENSHOT = bool(os.environ.get("CORPUS_UPDATE_SCREENSHOT"))

# Emoji (astral, and a ZWJ sequence with a skin tone: 4 code points, 7 UTF-16 units),
# a mathematical bold letter, Chinese, Arabic and Hebrew (right to left), "&", a doubled
# space and curly quotes, all BEFORE the phrases; the keywords make suggestions.
TRICKY_TITLE = "Chips, magnets and 中美 ties 😀"
TRICKY = (
    "Hello 😀😀 world 𝐀 and 👨🏻‍🚒 crews. 中国外交部表示，“合作很重要”。"
    " قال المسؤول إن التعاون مهم. שלום עולם. R&D at “Lab 1” rose."
    " “The U.S. export controls on chips,” she said, “hurt trade,” while  rare earth magnets"
    " stayed scarce.",
    "A second paragraph about human rights and Taiwan.",
)
NEW_PHRASE = "rare earth magnets"
NEW_ISSUE = "export_controls_technology"
NEW_SPAN_STANCE = "opposed"
DOC_STANCE = "mixed"

# Finds the phrase in the rendered text and returns its on-screen boxes, for the mouse.
PHRASE_RECTS = """([phrase]) => {
  const root = document.querySelector('.lsf-htx-richtext');
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(phrase);
    if (at < 0) continue;
    const range = document.createRange();
    range.setStart(node, at);
    range.setEnd(node, at + phrase.length);
    return [...range.getClientRects()].map(r => ({x: r.left, y: r.top, w: r.width, h: r.height}));
  }
  return null;
}"""
# Every highlighted piece of the text, with the region's label and offsets as rendered.
HIGHLIGHTS = """() => [...document.querySelectorAll('.lsf-htx-richtext .htx-highlight')]
  .map(el => ({text: el.textContent, label: el.dataset.label, start: el.dataset.start,
               end: el.dataset.end}))"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-browser (Debian's chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(2 * TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@contextmanager
def screenshot_on_failure(page: Page, folder: Path) -> Iterator[None]:
    """Keep what the browser showed when the test failed, in the test's output folder."""
    try:
        yield
    except BaseException:
        path = folder / "browser-failure.png"
        try:
            page.screenshot(path=str(path), full_page=True)
            print(f"browser screenshot at failure: {path}")
        except Exception as exc:  # the page may be gone; keep the original error
            print(f"no browser screenshot ({exc})")
        raise


def start_ui_round(
    client: StudioClient,
    store: Store,
    schema: AnnotationSchema,
    tmp_path: Path,
    name: str,
    title: str,
    *paragraphs: str,
) -> tuple[int, int, str]:
    """Ingest one article, start a round on it; return (project id, task id, stored text)."""
    folder = tmp_path / "articles"
    write_article(folder, f"{name}.txt", title, *paragraphs)
    version = ingest([folder], store=store, schema=schema).version
    assert version is not None
    pre = KeywordPreAnnotator(schema)
    start_round(client, store, name, version=version, schema=schema, preannotator=pre)
    state = load_round(store.root, name)
    assert state.project_id is not None
    (task,) = client.sdk.tasks.list(project=state.project_id, fields="all")
    return state.project_id, int(task.id), str(task.data["text"])


def pull(client: StudioClient, store: Store, schema: AnnotationSchema, name: str) -> str:
    pre = KeywordPreAnnotator(schema)
    result = pull_round(client, store, name, schema=schema, preannotator=pre)
    assert result.written and result.rejects == [], result.rejects
    return str(result.version)


def log_in(page: Page, studio: StudioInfo, user: Annotator) -> str:
    """Log in through the real form; return the server's base URL."""
    base = studio.url.rstrip("/")
    assert user.password is not None
    page.goto(f"{base}/user/login/")
    page.fill("input[name=email]", user.email)
    page.fill("input[name=password]", user.password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/user/login" not in url)
    return base


def open_task(
    page: Page, studio: StudioInfo, user: Annotator, project_id: int, task_id: int
) -> None:
    """Log in, open one task from the project's list and wait for its text."""
    base = log_in(page, studio, user)
    page.goto(f"{base}/projects/{project_id}/data?task={task_id}")
    page.wait_for_selector(".lsf-htx-richtext")


def instructions(page: Page) -> Locator:
    """Label Studio's "Labeling Instructions" dialog (the project's instructions)."""
    return page.locator(".lsf-modal-ls").filter(has_text="Labeling Instructions")


def suggested(schema: AnnotationSchema, text: str) -> list[tuple[str, str, int, int]]:
    return [
        (text[s.start : s.end], s.issue, s.start, s.end)
        for s in KeywordPreAnnotator(schema).predict(text)
    ]


def highlighted(page: Page) -> list[tuple[str, str, int, int]]:
    """The regions as the page shows them: (highlighted text, label, start, end), in text order.

    A region split over several elements (it crosses a line or another region) is joined.
    """
    regions: dict[tuple[str, int, int], str] = {}
    for piece in page.evaluate(HIGHLIGHTS):
        label = piece["label"].split(":", 1)[1]  # rendered as "<index>:<label>"
        key = (label, int(piece["start"]), int(piece["end"]))
        regions[key] = regions.get(key, "") + piece["text"]
    return sorted(((t, *key) for key, t in regions.items()), key=lambda r: r[2])


def wait_for_regions(page: Page, n: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('.lsf-htx-richtext .htx-highlight').length >= n", arg=n
    )


def title(schema: AnnotationSchema, control: str, value: str) -> str:
    """What the button of a stored ``value`` shows: the schema's title."""
    labels = {
        "issue": schema.issues,
        "span_stance": schema.span_stance.labels,
        "stance": schema.stance.labels,
    }[control]
    return next(label.title for label in labels if label.name == value)


def label_chip(page: Page, shown: str) -> Locator:
    """The issue button that shows ``shown`` (a title, not the stored identifier)."""
    return page.locator(".lsf-labels .lsf-label").filter(
        has=page.locator(".lsf-label__text", has_text=re.compile(rf"^{re.escape(shown)}$"))
    )


def chips(page: Page) -> list[tuple[str, str]]:
    """The issue buttons as shown: (text, hotkey)."""
    return [
        (
            chip.locator(".lsf-label__text").inner_text(),
            chip.locator(".lsf-label__hotkey").inner_text(),
        )
        for chip in page.locator(".lsf-labels .lsf-label").all()
    ]


def stored_values(client: StudioClient, task_id: int) -> dict[str, list[str]]:
    """control -> the values Label Studio stored in the task's (one) annotation."""
    (annotation,) = client.sdk.annotations.list(id=task_id)
    out: dict[str, list[str]] = {}
    for item in annotation.result:
        value = item["value"]
        out.setdefault(item["from_name"], []).extend(value.get("labels", value.get("choices", [])))
    return out


def region(page: Page, phrase: str) -> Locator:
    return page.locator(".lsf-htx-richtext .htx-highlight").filter(
        has_text=re.compile(rf"^{re.escape(phrase)}$")
    )


def choice(page: Page, question: str, value: str) -> Locator:
    """The checkbox of ``value`` in the Choices under the header ``question``.

    Span and document stance share label names, so the header tells them apart. The
    checkbox's input keeps the stored identifier as its name; its text is the title.
    """
    choices = page.locator(
        f"xpath=//*[normalize-space(text())={xpath_literal(question)}]"
        "/following-sibling::div[contains(@class, 'lsf-choices')][1]"
    )
    return choices.locator(f"label.lsf-choice__checkbox:has(input[name='{value}'])")


def xpath_literal(value: str) -> str:
    assert '"' not in value or "'" not in value
    return f'"{value}"' if '"' not in value else f"'{value}'"


def select_with_mouse(page: Page, phrase: str) -> None:
    """Press at the phrase's first character, drag to the end of its last one, release."""
    rects = page.evaluate(PHRASE_RECTS, [phrase])
    assert rects, f"{phrase!r} is not in the rendered text"
    first, last = rects[0], rects[-1]
    page.mouse.move(first["x"] + 1, first["y"] + first["h"] / 2)
    page.mouse.down()
    page.mouse.move(last["x"] + last["w"] - 1, last["y"] + last["h"] / 2, steps=8)
    page.mouse.up()


def submit(page: Page) -> None:
    with page.expect_response(
        lambda r: (
            r.request.method == "POST"
            and re.search(r"/api/tasks/\d+/annotations", r.url) is not None
        )
    ) as response:
        page.click("button[name=submit]")
    assert response.value.ok, response.value.status


def small_png(png: bytes) -> bytes:
    """A 128-colour PNG of the screenshot: about a third of the size, still sharp."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, "PNG", optimize=True
    )
    return out.getvalue()


def test_mouse_selection_in_the_browser_is_stored_at_python_offsets(
    studio_client: StudioClient,
    studio: StudioInfo,
    store: Store,
    schema: AnnotationSchema,
    make_annotator: Callable[..., Annotator],
    page: Page,
    tmp_path: Path,
) -> None:
    project_id, task_id, text = start_ui_round(
        studio_client, store, schema, tmp_path, "ui-offsets", TRICKY_TITLE, *TRICKY
    )
    expected = suggested(schema, text)
    assert [e[0] for e in expected] == [
        "export controls",
        "chips",
        "trade",
        "human rights",
        "Taiwan",
    ]
    # the phrase sits after code points that UTF-16 counts twice or more
    start = text.index(NEW_PHRASE)
    assert len(text[:start].encode("utf-16-le")) // 2 > start
    user = make_annotator("browser", can_log_in=True)

    with screenshot_on_failure(page, tmp_path):
        open_task(page, studio, user, project_id, task_id)
        # the suggestions are already regions of the annotator's own annotation
        wait_for_regions(page, len(expected))
        assert highlighted(page) == expected
        # the buttons show the schema's titles and their stable keys, never identifiers
        keys = {(h.control, h.value): h.key for h in hotkeys(schema)}
        assert chips(page) == [(x.title, keys["issue", x.name]) for x in schema.issues]
        # one task opened from the list: the instructions wait behind a button
        assert page.get_by_role("button", name="Instructions").is_visible()
        assert not instructions(page).is_visible()

        label_chip(page, title(schema, "issue", NEW_ISSUE)).click()
        select_with_mouse(page, NEW_PHRASE)
        new_region = region(page, NEW_PHRASE)
        new_region.wait_for()
        shown = [h for h in highlighted(page) if h[0] == NEW_PHRASE]
        assert shown == [(NEW_PHRASE, NEW_ISSUE, start, start + len(NEW_PHRASE))]

        new_region.click()  # select it: its per-span stance appears
        choice(page, schema.span_stance.question, NEW_SPAN_STANCE).click()
        choice(page, schema.stance.question, DOC_STANCE).click()
        for question, control, value in (
            (schema.span_stance.question, "span_stance", NEW_SPAN_STANCE),
            (schema.stance.question, "stance", DOC_STANCE),
        ):
            box = choice(page, question, value)
            assert box.locator("input").is_checked()
            assert box.inner_text() == f"{title(schema, control, value)}[{keys[control, value]}]"
        page.mouse.move(5, VIEWPORT["height"] - 5)  # no hint tooltip in the picture
        labelled = page.screenshot(type="png")
        submit(page)
        # Label Studio stored the identifiers, not the titles the buttons show
        stored = stored_values(studio_client, task_id)
        assert sorted(stored.pop("issue")) == sorted([NEW_ISSUE, *(e[1] for e in expected)])
        assert stored == {"span_stance": [NEW_SPAN_STANCE], "stance": [DOC_STANCE]}

        version = pull(studio_client, store, schema, "ui-offsets")
        (annotation,) = store.read_table(version, "annotations").to_pylist()
        assert annotation["stance"] == DOC_STANCE and not annotation["cancelled"]
        assert annotation["n_spans"] == len(expected) + 1
        spans = {s["text"]: s for s in store.read_table(version, "spans").to_pylist()}
        mine = spans.pop(NEW_PHRASE)
        assert (mine["start"], mine["end"]) == (start, start + len(NEW_PHRASE))
        assert mine["text"] == text[mine["start"] : mine["end"]] == NEW_PHRASE
        assert (mine["issue"], mine["stance"], mine["from_prediction"]) == (
            NEW_ISSUE,
            NEW_SPAN_STANCE,
            False,
        )
        # the untouched suggestions were submitted with the annotation, flagged as such
        assert sorted(
            (s["text"], s["issue"], s["start"], s["end"]) for s in spans.values()
        ) == sorted(expected)
        assert all(s["from_prediction"] and s["stance"] is None for s in spans.values())

    # The screenshot in docs/concepts/rounds.md: rewritten only when asked for (the
    # annotator's random name and avatar would otherwise change the committed PNG every run).
    (tmp_path / "labelling.png").write_bytes(small_png(labelled))
    if UPDATE_SCREENSHOT:
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes(small_png(labelled))


def test_suggestions_accepted_in_the_browser_come_back_from_prediction(
    studio_client: StudioClient,
    studio: StudioInfo,
    store: Store,
    schema: AnnotationSchema,
    make_annotator: Callable[..., Annotator],
    page: Page,
    tmp_path: Path,
) -> None:
    project_id, task_id, text = start_ui_round(
        studio_client,
        store,
        schema,
        tmp_path,
        "ui-accept",
        "Talks 👍🏽",
        "“Officials” 👍🏽 discussed chips, Taiwan and climate.",
    )
    expected = suggested(schema, text)
    assert [e[0] for e in expected] == ["chips", "Taiwan", "climate"]
    user = make_annotator("accept", can_log_in=True)

    with screenshot_on_failure(page, tmp_path):
        open_task(page, studio, user, project_id, task_id)
        wait_for_regions(page, len(expected))
        assert highlighted(page) == expected
        region(page, "Taiwan").click()  # a stance on a suggestion leaves it a suggestion
        choice(page, schema.span_stance.question, "supportive").click()
        region(page, "chips").click()  # another label for a suggestion makes it the annotator's
        label_chip(page, title(schema, "issue", "trade")).click()
        page.wait_for_function(
            """() => [...document.querySelectorAll('.lsf-htx-richtext .htx-highlight')]
                  .some(el => el.textContent === 'chips' && el.dataset.label.endsWith(':trade'))"""
        )
        choice(page, schema.stance.question, "neutral").click()
        submit(page)

        version = pull(studio_client, store, schema, "ui-accept")
        (annotation,) = store.read_table(version, "annotations").to_pylist()
        assert annotation["stance"] == "neutral"
        spans = {
            s["text"]: (s["issue"], s["stance"], s["from_prediction"], text[s["start"] : s["end"]])
            for s in store.read_table(version, "spans").to_pylist()
        }
        assert spans == {
            "chips": ("trade", None, False, "chips"),  # LS: origin "prediction-changed"
            "Taiwan": ("taiwan", "supportive", True, "Taiwan"),  # origin stays "prediction"
            "climate": ("climate", None, True, "climate"),  # origin "prediction"
        }


def test_instructions_open_the_label_stream_and_hotkeys_label_a_task(
    studio_client: StudioClient,
    studio: StudioInfo,
    store: Store,
    schema: AnnotationSchema,
    make_annotator: Callable[..., Annotator],
    page: Page,
    tmp_path: Path,
) -> None:
    """The schema's instructions come first; then a task is labelled with the documented keys."""
    project_id, task_id, text = start_ui_round(
        studio_client,
        store,
        schema,
        tmp_path,
        "ui-keys",
        "Keys",
        "Officials said trade grew, while rare earth magnets stayed scarce.",
    )
    keys = {(h.control, h.value): h.key for h in hotkeys(schema)}
    issue, span_stance, stance = "export_controls_technology", "neutral", "opposed"
    user = make_annotator("keys", can_log_in=True)

    with screenshot_on_failure(page, tmp_path):
        base = log_in(page, studio, user)
        page.goto(f"{base}/projects/{project_id}/data?labeling=1")  # "Label All Tasks"
        dialog = instructions(page)
        dialog.wait_for()
        body = dialog.locator(".lsf-modal-ls__body")
        # what the server shows is the generated HTML, unchanged by its sanitiser
        assert body.locator("h2").inner_text().startswith("How to label")
        shown = body.inner_html()
        assert instructions_html(schema).replace("\n", "") in shown.replace("\n", "")
        rows = body.locator("tbody tr")
        assert rows.count() == len(schema.issues) + len(schema.span_stance.labels) + len(
            schema.stance.labels
        )
        first = schema.issues[1]
        assert rows.nth(1).inner_text().split("\t") == [
            keys["issue", first.name],
            first.title,
            first.description,
            "; ".join(first.examples),
        ]
        page.keyboard.press("Escape")
        dialog.wait_for(state="hidden")

        page.wait_for_selector(".lsf-htx-richtext")
        wait_for_regions(page, len(suggested(schema, text)))
        page.keyboard.press(keys["issue", issue])
        select_with_mouse(page, NEW_PHRASE)
        new_region = region(page, NEW_PHRASE)
        new_region.wait_for()
        new_region.click()
        page.keyboard.press(keys["span_stance", span_stance].replace("shift", "Shift"))
        page.keyboard.press("u")  # Label Studio: unselect the region
        page.keyboard.press(keys["stance", stance])
        assert choice(page, schema.stance.question, stance).locator("input").is_checked()
        with page.expect_response(
            lambda r: r.request.method == "POST" and f"/api/tasks/{task_id}/annotations" in r.url
        ) as response:
            page.keyboard.press("Control+Enter")
        assert response.value.ok

    start = text.index(NEW_PHRASE)
    version = pull(studio_client, store, schema, "ui-keys")
    (annotation,) = store.read_table(version, "annotations").to_pylist()
    assert annotation["stance"] == stance
    spans = {s["text"]: s for s in store.read_table(version, "spans").to_pylist()}
    mine = spans[NEW_PHRASE]
    assert (mine["start"], mine["end"], mine["issue"], mine["stance"]) == (
        start,
        start + len(NEW_PHRASE),
        issue,
        span_stance,
    )
