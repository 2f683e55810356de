"""`chat`: talk to the gateway's model (spec/cli.md §7.5, design.md "chat in the CLI" and "streaming").

The conversation lives in this process only: every message goes to POST /v1/chat/completions with all the
turns before it, streamed, and the answer is printed as it arrives. stdout carries answers and nothing else;
prompts, hints, help and errors go to stderr. Lines are read with a plain readline of stdin (the terminal's own
line editing): Python's readline would print the prompt on stdout and share its history with the shell command,
and no chat line may reach any history.
"""

import re
from contextlib import ExitStack

from cynode.cli.exits import CliError, usage_error
from cynode.cli.gateway import pieces
from cynode.cli.sse import answer_pieces, events
from cynode.cli.terminal import Progress

PROMPT = "> "
SESSION_HINT = "Type /exit or /quit (or Ctrl+D) to leave."
UNKNOWN_COMMAND = "Unknown command. Type /help for available commands."
HELP = """Commands (never sent to the model):
  /help    this list
  /clear   forget the conversation so far
  /exit    leave (also /quit, or Ctrl+D)"""
SLASH_COMMAND = re.compile(r"/[A-Za-z][\w-]*")  # "/etc/hosts is ..." is a message, not a command
# Longer than the server's default wait for a silent backend (inference_read_timeout, 120 s), so its 504 arrives
# here as an answer rather than this client giving up first.
READ_TIMEOUT = 180.0


class Session:
    """One conversation: the turns so far, and how to ask for the next answer."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.messages: list[dict] = []

    def ask(self, text: str, show: bool = True) -> str | None:
        """Send `text` with the conversation so far; the answer, printed piece by piece when `show`. None when
        Ctrl+C stopped it: that exchange is forgotten. A gateway error raises CliError (it ends the session)."""
        ctx = self.ctx
        asked = [*self.messages, {"role": "user", "content": text}]
        body = {"messages": asked, "stream": True}
        if ctx.args.get("--model"):
            body["model"] = ctx.args["--model"]
        out, received = ctx.env.stdout, []
        waiting = ExitStack()  # closed (idempotently) before the first piece is printed, so it never mixes in
        waiting.enter_context(Progress(ctx, "waiting for the answer"))
        stream = None
        try:
            response = ctx.gateway().call("POST", "/v1/chat/completions", body=body, stream=True,
                                          timeout=READ_TIMEOUT)
            stream = pieces(response, "the answer")
            for piece in answer_pieces(events(stream)):
                waiting.close()
                received.append(piece)
                if show:
                    out.write(piece)
                    out.flush()
        except KeyboardInterrupt:
            self._end_line(waiting, received, show)
            ctx.hint("(answer interrupted)")
            return None
        except CliError:
            self._end_line(waiting, received, show)
            raise
        finally:
            if stream is not None:
                stream.close()
        self._end_line(waiting, received, show)
        answer = "".join(received)
        self.messages = [*asked, {"role": "assistant", "content": answer}]
        return answer

    def _end_line(self, waiting: ExitStack, received: list, show: bool) -> None:
        """Stop the progress line and end the answer's line, so what comes next starts on its own line."""
        waiting.close()
        if show and received:
            self.ctx.env.stdout.write("\n")
            self.ctx.env.stdout.flush()


def chat(ctx) -> None:
    message = ctx.args.get("--message")
    if message is not None and not message.strip():
        raise usage_error("--message must not be empty")
    ctx.token()  # exit 3 before any prompt or request
    session = Session(ctx)
    if message is not None:
        _one_shot(ctx, session, message.strip())
    else:
        _loop(ctx, session)


def _one_shot(ctx, session: Session, message: str) -> None:
    """-m: one exchange. json mode prints {"response": ...} once the answer is whole; Ctrl+C leaves with 0 and,
    in json mode, prints nothing (half an answer is no response)."""
    answer = session.ask(message, show=not ctx.json)
    if ctx.json and answer is not None:
        ctx.emit(None, {"response": answer})


def _loop(ctx, session: Session) -> None:
    on_terminal = ctx.env.stdin_is_tty()
    if on_terminal:
        ctx.hint(SESSION_HINT)
    while True:
        try:
            line = ctx.env.ask(PROMPT)
        except KeyboardInterrupt:  # Ctrl+C at the prompt leaves, as Ctrl+D does (spec/cli.md §3: exit 0)
            line = None
        if line is None:
            if on_terminal:
                ctx.env.stderr.write("\n")  # the shell's prompt starts on its own line, not after "> "
            return
        text = line.strip()
        if not text:
            continue
        word = text.split()[0]
        if SLASH_COMMAND.fullmatch(word):
            if not _command(ctx, session, word.lower()):
                return
            continue
        session.ask(text)


def _command(ctx, session: Session, word: str) -> bool:
    """Run a slash command; False when it ends the session."""
    if word in ("/exit", "/quit"):
        return False
    if word == "/help":
        ctx.warn(HELP)
    elif word == "/clear":
        session.messages = []
        ctx.hint("Conversation cleared.")
    else:
        ctx.warn(UNKNOWN_COMMAND)
    return True
