"""How the command line lays out what it prints: columns lined up and coloured on a terminal ("table"),
tab-separated fields without a heading when piped ("text", as the AWS CLI's text output)."""

from __future__ import annotations

from collections.abc import Sequence

import click

# What a word means to the reader, as its colour: ended well, ended badly, still going or worth a look.
_COLOURS = {
    "COMPLETED": "green", "Intact.": "green",
    "FAILED": "red", "STOPPED": "red", "BLOCKING": "red", "problem": "red",
    "INITIALIZING": "yellow", "IN_PROGRESS": "yellow", "note": "yellow", "notice": "yellow",
}


class Printer:
    """Prints rows in the chosen form (``table`` or ``text``), colouring per ``color`` (click's meaning)."""

    def __init__(self, form: str, color: bool | None) -> None:
        self.form = form
        self.color = color

    def line(self, text: str = "") -> None:
        """A line of prose, the same in both forms."""
        click.echo(text, color=self.color)

    def table(self, headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        """Rows under a heading, columns lined up; as text, the rows alone, fields separated by tabs."""
        if self.form == "text":
            for row in rows:
                click.echo("\t".join(_one_line(cell) for cell in row))
            return
        cells = [[_one_line(c) for c in row] for row in [headers, *rows]]
        widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
        for number, row in enumerate(cells):
            # The last column unpadded: nothing follows it to line up.
            padded = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)] + [row[-1]]
            shown = padded if number == 0 else [self._styled(cell, p) for cell, p in zip(row, padded, strict=True)]
            click.echo("  ".join(shown), color=self.color)

    def pairs(self, rows: Sequence[tuple[str, str]]) -> None:
        """Labelled values: the label in a column of its own."""
        if self.form == "text":
            for label, value in rows:
                click.echo(f"{label}\t{_one_line(value)}")
            return
        width = max(len(label) for label, _ in rows) + 1
        for label, value in rows:
            click.echo(f"{label:<{width}}{value}", color=self.color)

    def word(self, word: str, width: int = 0, meaning: str | None = None) -> str:
        """``word`` padded to ``width`` and coloured for a terminal by what it means (``meaning``, or the word
        itself: a status, say); as text, the word alone."""
        if self.form == "text":
            return word
        return self._styled(meaning or word, word.ljust(width))

    def _styled(self, meaning: str, padded: str) -> str:
        colour = _COLOURS.get(meaning)
        # Styled after padding: the escape codes would otherwise count towards the width.
        return click.style(padded, fg=colour, bold=meaning in ("BLOCKING", "FAILED")) if colour else padded


def _one_line(cell: object) -> str:
    # A tab or newline inside a field would split it for the reader of text output.
    return " ".join(str(cell).split()) if any(c in str(cell) for c in "\t\n\r") else str(cell)
