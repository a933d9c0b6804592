"""The console's navigation: each page module declares its own entries (``MENU``), and a
person sees only those their organisation's kind and their role allow. A page never
offers a way to something its viewer may not open: the same predicate guards both."""

from __future__ import annotations

from dataclasses import dataclass

from traceseal.orgs.models import Role


@dataclass(frozen=True)
class MenuItem:
    """One entry: its path (also the prefix that marks it current), its words in both
    languages, and who sees it."""

    path: str
    zh: str
    en: str
    #: Organisation kinds that see it; empty: every kind.
    kinds: frozenset[Role] = frozenset()
    #: Only the organisation's admins (the operator's admins included).
    admin: bool = False
    #: Where the menu lists it: lower first; the account's own pages come last.
    order: int = 50

    def shown_to(self, kind: Role, *, is_admin: bool) -> bool:
        if self.kinds and kind not in self.kinds:
            return False
        return is_admin or not self.admin


@dataclass(frozen=True)
class Link:
    """A menu entry as the page draws it (plain values: an error page has no database)."""

    path: str
    zh: str
    en: str


def menu_for(items: list[MenuItem], kind: Role, *, is_admin: bool) -> tuple[Link, ...]:
    shown = [item for item in items if item.shown_to(kind, is_admin=is_admin)]
    shown.sort(key=lambda item: item.order)
    return tuple(Link(item.path, item.zh, item.en) for item in shown)


def brand(path: str, zh: str, en: str, *, admin: bool = False, order: int = 50) -> MenuItem:
    return MenuItem(path, zh, en, frozenset({Role.ENTERPRISE}), admin, order)


def only(
    kind: Role, path: str, zh: str, en: str, *, admin: bool = False, order: int = 50
) -> MenuItem:
    return MenuItem(path, zh, en, frozenset({kind}), admin, order)
