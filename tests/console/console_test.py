"""Browser test of the ssa console: headless Chromium driven by Playwright.

tests/console.rs starts `ssa demo` and runs this script against it:

    python3 tests/console/console_test.py --url http://127.0.0.1:PORT/console \
        --partitions p0,p1,p2,p3 --events 300000 [--screenshot docs/console.png]
    python3 tests/console/console_test.py --url ... --partitions p0 --no-server-token

The admin token comes from the SSA_CONSOLE_TEST_TOKEN environment variable (never
argv). Every wait is a condition with a deadline (Playwright's `expect`); the exit
status is 0 only when every check passed and the browser logged no error.
"""

import argparse
import os
import re
import shutil
import sys
import tempfile

from playwright.sync_api import expect, sync_playwright

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Deadlines, not pauses: each expect returns as soon as its condition holds.
STEP_MS = 120_000
RUN_END_MS = 600_000
LIVE_STATES = re.compile(r"^(starting|running|backpressured|restarting|finished)$")
ANY_STATE = re.compile(r"^(starting|running|backpressured|restarting|finished|stopped)$")


def step(name):
    print(f"--- {name}", flush=True)


def chromium_path():
    return os.environ.get("SSA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"


class Console:
    """The page and what the browser logged."""

    def __init__(self, page):
        self.page = page
        self.errors = []
        self.expected_errors = []
        page.on("console", self.on_console)
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def on_console(self, msg):
        line = f"{msg.type}: {msg.text} ({msg.location.get('url', '')})"
        print(f"    browser {line}", flush=True)
        if msg.type == "error":
            self.errors.append(line)

    def row(self, partition):
        return self.page.locator(f'tr[data-partition="{partition}"]')

    def cell(self, partition, field):
        return self.row(partition).locator(f'[data-field="{field}"]')

    def actor_cell(self, actor, field):
        return self.page.locator(f'tr[data-actor="{actor}"] [data-field="{field}"]')

    def button(self, partition, action):
        return self.row(partition).locator(f'button[data-action="{action}"]')

    def mutation_buttons(self):
        return self.page.locator("button.mutation")

    def expect_all_disabled(self):
        buttons = self.mutation_buttons()
        n = buttons.count()
        assert n > 0, "the page has no mutation buttons"
        for i in range(n):
            expect(buttons.nth(i)).to_be_disabled()
        return n

    def enter_token(self, token):
        self.page.fill("#token-input", token)
        self.page.click("#token-save")
        expect(self.page.locator("#access")).to_have_attribute("data-access", "unlocked")


def renders_every_partition(c, partitions):
    step(f"the page renders every partition: {', '.join(partitions)}")
    expect(c.page.locator("#partitions tbody tr")).to_have_count(len(partitions))
    for p in partitions:
        expect(c.row(p)).to_be_visible()
        expect(c.cell(p, "state")).to_have_text(ANY_STATE)
    expect(c.page.locator("#health")).to_have_class(re.compile(r"\bok\b"))


def read_only_without_token(c):
    step("without a token the page is read-only and says why")
    access = c.page.locator("#access")
    expect(access).to_have_attribute("data-access", "read-only")
    expect(access).to_contain_text("Read-only: the buttons need the admin token")
    n = c.expect_all_disabled()
    print(f"    {n} mutation buttons, all disabled", flush=True)


def wrong_token_shows_401(c):
    step("a wrong token shows the 401 message, and the token is forgotten")
    c.enter_token("not-the-token")
    kill = c.button("p0", "kill")
    expect(kill).to_be_enabled()
    kill.click()
    notice = c.page.locator("#notice")
    expect(notice).to_have_attribute("data-kind", "error")
    expect(notice).to_contain_text("401 unauthorized")
    expect(notice).to_contain_text("Authorization: Bearer")
    expect(c.page.locator("#access")).to_have_attribute("data-access", "read-only")
    c.expect_all_disabled()
    # The browser logs the refused request itself; that one error is expected.
    c.expected_errors.append(re.compile(r"status of 401 .*/partitions/p0/kill"))


def kill_button_kills(c, token, partition, screenshot):
    step(f"with the token, the kill button kills {partition}: its restart count rises")
    c.enter_token(token)
    killed = c.cell(partition, "restarts-killed")
    expect(killed).to_have_text("0")
    c.button(partition, "kill").click()
    expect(c.page.locator("#notice")).to_contain_text(f"partition {partition} killed")
    expect(killed).to_have_text("1")
    expect(c.cell(partition, "restarts")).to_have_text("1")
    expect(c.cell(partition, "state")).to_have_text(LIVE_STATES)
    if screenshot:
        c.page.screenshot(path=screenshot, full_page=True)
        print(f"    screenshot written to {screenshot}", flush=True)


def kill_sink_and_checkpoint(c):
    step("kill the sink and the checkpoint actor: their restarts rise to 1")
    for actor in ("sink", "checkpoint"):
        cell = c.actor_cell(actor, "restarts-killed")
        expect(cell).to_have_text("0")
        c.page.click(f"#kill-{actor}")
        expect(c.page.locator("#notice")).to_contain_text(f"{actor} actor killed")
        expect(cell).to_have_text("1")


def change_flush_interval(c):
    step("change flush_interval to 200ms")
    c.page.fill("#flush-input", "200ms")
    c.page.click("#flush-apply")
    expect(c.page.locator("#notice")).to_contain_text("flush_interval is 200ms")
    expect(c.page.locator("#tune-flush_interval")).to_have_text("200ms")


def stop_and_start(c, partition):
    step(f"stop {partition}, then start it again")
    stop, start = c.button(partition, "stop"), c.button(partition, "start")
    stop.click()
    expect(c.cell(partition, "state")).to_have_text("stopped")
    expect(stop).to_be_disabled()
    expect(start).to_be_enabled()
    start.click()
    expect(c.cell(partition, "state")).to_have_text(LIVE_STATES)
    expect(start).to_be_disabled()


def chaos_on_the_sink(c):
    step("start chaos on the sink only, see it kill, stop it")
    c.page.fill("#chaos-interval", "100")
    for target in ("partition", "checkpoint"):
        c.page.uncheck(f'.chaos-target[value="{target}"]')
    c.page.click("#chaos-start")
    status = c.page.locator("#chaos-status")
    expect(status).to_have_attribute("data-running", "true")
    # The sink was killed once by hand; chaos kills it again.
    expect(c.actor_cell("sink", "restarts-killed")).not_to_have_text("1", timeout=STEP_MS)
    c.page.click("#chaos-stop")
    expect(status).to_have_attribute("data-running", "false")
    expect(c.page.locator("#notice")).to_contain_text("stop chaos: stopped")


def verify_turns_exact(c, events, partitions, killed):
    step(f"the verify panel turns EXACT: {events:,} of {events:,} events")
    expect(c.page.locator("#verify-status")).to_have_text("EXACT", timeout=RUN_END_MS)
    expect(c.page.locator("#verify-events")).to_have_text(f"{events:,} / {events:,}")
    for p in partitions:
        expect(c.cell(p, "restarts-killed")).to_have_text("1" if p == killed else "0")
        expect(c.cell(p, "state")).to_have_text("finished")


def no_server_token(c):
    step("a server without a token: read-only, the page says why, no token form")
    access = c.page.locator("#access")
    expect(access).to_have_attribute("data-access", "no-token")
    expect(access).to_contain_text("no admin token configured")
    expect(c.page.locator("#token-form")).to_be_hidden()
    c.expect_all_disabled()


def unexpected_errors(c):
    return [e for e in c.errors if not any(p.search(e) for p in c.expected_errors)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--partitions", required=True)
    ap.add_argument("--events", type=int)
    ap.add_argument("--screenshot")
    ap.add_argument("--no-server-token", action="store_true")
    args = ap.parse_args()
    partitions = args.partitions.split(",")
    token = os.environ.get("SSA_CONSOLE_TEST_TOKEN", "")
    if not args.no_server_token and (not token or args.events is None):
        sys.exit("SSA_CONSOLE_TEST_TOKEN and --events are needed unless --no-server-token")
    expect.set_options(timeout=STEP_MS)

    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000},
        )
        try:
            c = Console(context.new_page())
            c.page.set_default_timeout(STEP_MS)
            step(f"open {args.url}")
            c.page.goto(args.url)
            renders_every_partition(c, partitions)
            if args.no_server_token:
                no_server_token(c)
            else:
                read_only_without_token(c)
                wrong_token_shows_401(c)
                kill_button_kills(c, token, "p1", args.screenshot)
                kill_sink_and_checkpoint(c)
                change_flush_interval(c)
                stop_and_start(c, "p2")
                chaos_on_the_sink(c)
                verify_turns_exact(c, args.events, partitions, "p1")
            step("no errors in the browser log")
            errors = unexpected_errors(c)
            assert not errors, "the browser logged errors:\n" + "\n".join(errors)
            print(f"    none (expected: {len(c.errors) - len(errors)})", flush=True)
        finally:
            context.close()
    print("console test passed", flush=True)


if __name__ == "__main__":
    main()
