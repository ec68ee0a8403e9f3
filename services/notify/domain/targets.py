"""Where notify may send: the channel target policy, written as data.

A channel is an Apprise URL, and Apprise calls whatever the URL names. Before a URL is stored (and again
before it is called) it must match one of the :data:`KINDS` below:

- **who** may set it: ``resident`` kinds anyone may set for themself (an email address, a WeCom/DingTalk/
  Feishu bot …); ``operator`` kinds only a caller with the operator role (generic webhooks, self-hosted push
  servers, SMS accounts);
- **the host**: for ``key`` kinds the URL's host is a bot key and Apprise calls the provider's one public
  host (``wecombot://KEY`` posts to ``qyapi.weixin.qq.com``); for ``network`` kinds the URL's host is where
  notify connects, so it must be a public DNS name (no IP literal of any form, no ``localhost``, no
  single-label or internal name) on an allowed port, or one of ``fixed_hosts``;
- **the rest of the URL**: the strict grammar of :data:`URL` (one ``@`` at most before the host, no
  backslash, fragment, whitespace or percent-encoded host), userinfo only where the kind uses it as
  credentials, and only the query keys the kind lists (no ``redirect=``, timeouts or storage options).

A site's operator chooses which kinds each role may set (``NOTIFY_RESIDENT_CHANNELS``, ``NOTIFY_OPERATOR_CHANNELS``:
kind names such as ``email, wecombot``; unset, residents get the ``resident`` kinds and operators every kind).
The lists apply when a channel is saved and again before it is called, so a kind switched off is no longer sent to.

A site's operator may allow more hosts (``NOTIFY_ALLOWED_WEBHOOK_HOSTS``): an allowed host may be the
network host of any kind, set by anyone, on any port, even a loopback or private address (an internal
relay, the local receivers of the tests). Nothing else reaches a loopback, private, link-local or
unspecified address.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl

Audience = Literal["resident", "operator"]
HostRule = Literal["key", "network"]

REFUSED = "channel_target_refused"
"""The stable problem code of a refused channel target."""

COMMON_QUERY = frozenset({"format", "overflow", "emojis", "tz"})
"""Query keys every kind may carry (how the message is shaped, not where it goes)."""

URL = re.compile(
    r"^(?P<scheme>[a-z][a-z0-9+]*)://"
    r"(?:(?P<userinfo>[A-Za-z0-9._~!$&'()*+,;=:%-]*)@)?"
    r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._+-]+)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>/[A-Za-z0-9._~!$&'()*+,;=:%/-]*)?"
    r"(?:\?(?P<query>[A-Za-z0-9._~!$&'()*+,;=:%/?@-]*))?$"
)
"""The only URL shape accepted: ``@`` may appear once before the host (userinfo) and in the query (email
addresses), never in the path; no ``#``, ``\\``, whitespace or non-ASCII anywhere, so every parser (ours,
``urllib``, Apprise's) reads the same host."""

HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
"""A public-looking DNS name: at least two labels, the last one starting with a letter (``2130706433``,
``0x7f.1`` and ``127.1`` are numeric IP forms, not names)."""

INTERNAL_SUFFIXES = (
    "localhost",
    "local",
    "localdomain",
    "internal",
    "intranet",
    "lan",
    "home",
    "corp",
    "private",
    "home.arpa",
    "in-addr.arpa",
    "ip6.arpa",
    "test",
    "invalid",
    "example",
)
"""Names that never denote a public host (``x.localhost``, ``db.internal``, ``printer.local`` …)."""


@dataclass(frozen=True)
class TargetKind:
    """One kind of channel target a person may name."""

    name: str
    schemes: frozenset[str]
    audience: Audience
    host: HostRule
    key: str = r"^[A-Za-z0-9_-]{1,200}$"
    """``key`` kinds: the pattern of the key the URL's host holds."""
    fixed_hosts: frozenset[str] = frozenset()
    """``network`` kinds: hosts always allowed (the provider's own); empty: any public DNS name."""
    any_public_host: bool = False
    ports: frozenset[int] | None = None
    """Ports allowed on a public host (``None``: any); an explicitly allowed host may use any port."""
    path: str | None = None
    """A pattern the path must match (``None``: any path of the grammar)."""
    userinfo: bool = False
    """Whether ``user:password@`` is credentials for this kind (else refused)."""
    query: frozenset[str] = frozenset()
    query_prefixes: str = ""
    """First characters of query keys the kind takes freely (``+Header``, ``-param``, ``:field`` of webhooks)."""
    host_params: frozenset[str] = frozenset()
    """Query keys whose value is a host notify connects to (``smtp=``): checked like the URL's host."""


def _s(*names: str) -> frozenset[str]:
    return frozenset(names)


KINDS: tuple[TargetKind, ...] = (
    # -- anyone, for themself ------------------------------------------------------------------
    TargetKind(
        "email",
        _s("mailto", "mailtos"),
        "resident",
        "network",
        any_public_host=True,
        ports=frozenset({25, 465, 587, 2525}),
        userinfo=True,
        query=_s("from", "to", "cc", "bcc", "name", "mode", "reply", "smtp"),
        host_params=_s("smtp"),
    ),
    TargetKind("wecombot", _s("wecombot"), "resident", "key"),
    TargetKind(
        "wecombot",
        _s("https"),
        "resident",
        "network",
        fixed_hosts=_s("qyapi.weixin.qq.com"),
        ports=frozenset(),
        path=r"^/cgi-bin/webhook/send/?$",
        query=_s("key"),
    ),
    TargetKind("dingtalk", _s("dingtalk"), "resident", "key", path=r"^(/[0-9+]{1,20})*/?$", userinfo=True),
    TargetKind("feishu", _s("feishu"), "resident", "key", path=r"^/?$"),
    TargetKind("lark", _s("lark"), "resident", "key", path=r"^/?$"),
    TargetKind("serverchan", _s("schan"), "resident", "key", path=r"^/?$"),
    TargetKind("pushplus", _s("pushplus"), "resident", "key", path=r"^/?$"),
    TargetKind("qq", _s("qq"), "resident", "key", path=r"^/?$"),
    # -- operators only (staff and system recipients) ------------------------------------------
    TargetKind(
        "webhook",
        _s("json", "jsons", "form", "forms", "xml", "xmls"),
        "operator",
        "network",
        any_public_host=True,
        query=_s("method"),
        query_prefixes="+-:",
    ),
    TargetKind(
        "push",
        _s("ntfy", "ntfys", "gotify", "gotifys", "bark", "barks"),
        "operator",
        "network",
        any_public_host=True,
        userinfo=True,
        query=_s("priority", "tags", "to", "sound", "group", "level"),
    ),
    TargetKind(
        "twilio",
        _s("twilio"),
        "operator",
        "key",
        key=r"^\+?[0-9A-Za-z_-]{1,32}$",
        path=r"^(/\+?[0-9]{1,20})*/?$",
        userinfo=True,
        query=_s("from", "to"),
    ),
)
"""The channel target policy: a URL is accepted only as one of these kinds."""


class TargetRefused(ValueError):
    """A channel target the policy does not accept; ``reason`` is a short stable word (never the URL)."""

    MESSAGES = {
        "malformed": "地址格式不被接受 / the address is not in an accepted form",
        "scheme": "不支持的通道类型 / this kind of channel is not supported",
        "operator_only": "此类通道只能由运维人员配置 / only an operator may configure this kind of channel",
        "userinfo": "地址中不允许包含用户信息 / user information is not allowed in this address",
        "ip_literal": "不允许使用 IP 地址作为主机 / an IP address is not allowed as the host",
        "private_address": "不允许内网、回环或保留地址 / private, loopback and reserved addresses are refused",
        "host": "不允许的主机 / this host is not allowed",
        "port": "不允许的端口 / this port is not allowed",
        "path": "地址路径不被接受 / the path of this address is not accepted",
        "query": "地址中含不允许的参数 / the address carries a parameter that is not allowed",
        "key": "密钥格式无效 / the key of this address is not valid",
        "unresolvable": "主机无法解析 / the host does not resolve",
        "kind_disabled": "运维人员未开放此类通道 / operators have not enabled this kind of channel",
    }

    def __init__(self, reason: str) -> None:
        super().__init__(self.MESSAGES.get(reason, reason))
        self.reason = reason


def normal_host(host: str) -> str:
    """A host as compared: lowercase, no brackets, no trailing dot."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host[:-1] if host.endswith(".") else host


def parse_hosts(text: str | None) -> frozenset[str]:
    """``NOTIFY_ALLOWED_WEBHOOK_HOSTS``: hosts separated by commas or spaces (``hooks.example.com, 10.0.0.5``)."""
    return frozenset(normal_host(h) for h in re.split(r"[,\s]+", text or "") if h.strip())


KIND_NAMES: frozenset[str] = frozenset(k.name for k in KINDS)


def parse_kinds(text: str | None) -> frozenset[str] | None:
    """``NOTIFY_RESIDENT_CHANNELS`` / ``NOTIFY_OPERATOR_CHANNELS``: kind names separated by commas or spaces;
    ``None`` when unset. An unknown name is an error (the service does not start on a typo)."""
    if text is None or not text.strip():
        return None
    names = frozenset(n.strip().lower() for n in re.split(r"[,\s]+", text) if n.strip())
    unknown = names - KIND_NAMES
    if unknown:
        raise ValueError(f"unknown channel kinds {sorted(unknown)}; choose from {', '.join(sorted(KIND_NAMES))}")
    return names


def ip_of(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an IP address if it is one in any notation a resolver accepts (``2130706433``,
    ``0x7f.1``, ``0177.0.0.1``, ``127.1``, ``[::1]``), else ``None``."""
    host = normal_host(host)
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values = []
    for part in parts:
        try:
            if re.fullmatch(r"0x[0-9a-f]*", part):
                values.append(int(part[2:] or "0", 16))
            elif re.fullmatch(r"0[0-7]+", part):
                values.append(int(part, 8))
            elif re.fullmatch(r"[0-9]+", part):
                values.append(int(part))
            else:
                return None
        except ValueError:
            return None
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        return ipaddress.IPv4Address(0)  # out of range: treat as unspecified (refused)
    number = last
    for i, v in enumerate(head):
        number += v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A globally routable unicast address (IPv4-mapped, 6to4 and NAT64 forms judged by their IPv4)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in ipaddress.IPv6Network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and not is_public(embedded):
            return False
    return address.is_global and not (
        address.is_multicast or address.is_loopback or address.is_link_local or address.is_unspecified
    )


@dataclass(frozen=True)
class Target:
    """A URL the policy accepted: its kind, and the network hosts notify will connect to (if any)."""

    kind: TargetKind
    hosts: tuple[str, ...]
    """Network hosts to check again at send time (empty for key kinds and fixed provider hosts)."""


@dataclass(frozen=True)
class TargetPolicy:
    """The policy of :data:`KINDS` with the hosts a site allows on top."""

    allowed_hosts: frozenset[str] = frozenset()
    kinds: tuple[TargetKind, ...] = field(default=KINDS)
    resident_kinds: frozenset[str] | None = None
    """Kind names anyone may set for themself (``None``: the kinds whose audience is ``resident``)."""
    operator_kinds: frozenset[str] | None = None
    """Kind names operators may set (``None``: every kind)."""

    def allowed(self, host: str) -> bool:
        return normal_host(host) in self.allowed_hosts

    def check(self, url: str, audience: Audience) -> Target:
        """The accepted :class:`Target` of ``url`` set by ``audience``; raises :class:`TargetRefused`."""
        match = URL.fullmatch(url) if isinstance(url, str) else None
        if match is None:
            raise TargetRefused("malformed")
        scheme, userinfo, host = match["scheme"], match["userinfo"], match["host"]
        port = int(match["port"]) if match["port"] else None
        if port is not None and not 0 < port < 65536:
            raise TargetRefused("port")
        kinds = [k for k in self.kinds if scheme in k.schemes]
        if not kinds:
            raise TargetRefused("scheme")
        refusal = TargetRefused("malformed")
        for kind in kinds:
            try:
                return self._check_kind(kind, audience, userinfo, host, port, match["path"] or "", match["query"])
            except TargetRefused as exc:
                refusal = exc
        raise refusal

    def _check_kind(
        self,
        kind: TargetKind,
        audience: Audience,
        userinfo: str | None,
        host: str,
        port: int | None,
        path: str,
        query: str | None,
    ) -> Target:
        if userinfo is not None and not kind.userinfo:
            raise TargetRefused("userinfo")
        pairs = parse_qsl(query or "", keep_blank_values=True)
        if kind.host == "key":
            if port is not None or not re.fullmatch(kind.key, host):
                raise TargetRefused("key")
            hosts: tuple[str, ...] = ()
        else:
            extra = [value for key, value in pairs if key.lower() in kind.host_params]
            checked = [self._network_host(kind, host, port)] + [self._network_host(kind, h, None) for h in extra]
            hosts = tuple(h for h in checked if h)
        if kind.path is not None and not re.fullmatch(kind.path, path):
            raise TargetRefused("path")
        for key, _ in pairs:
            if key.lower() not in COMMON_QUERY | kind.query and not (key[:1] and key[0] in kind.query_prefixes):
                raise TargetRefused("query")
        explicit = kind.host == "network" and self.allowed(host)
        chosen = self.operator_kinds if audience == "operator" else self.resident_kinds
        if chosen is not None and kind.name not in chosen:
            raise TargetRefused("kind_disabled")
        if chosen is None and kind.audience == "operator" and audience != "operator" and not explicit:
            raise TargetRefused("operator_only")
        return Target(kind, hosts)

    def _network_host(self, kind: TargetKind, host: str, port: int | None) -> str:
        """Check one network host; returns it when it must be resolved and checked again at send time."""
        name = normal_host(host)
        if self.allowed(name):
            return ""
        if name in kind.fixed_hosts:
            if port is not None and kind.ports is not None and port not in kind.ports:
                raise TargetRefused("port")
            return ""
        address = ip_of(name)
        if address is not None:
            raise TargetRefused("ip_literal" if is_public(address) else "private_address")
        if name == "localhost" or any(name == s or name.endswith("." + s) for s in INTERNAL_SUFFIXES):
            raise TargetRefused("private_address")
        if not kind.any_public_host or not HOSTNAME.fullmatch(name):
            raise TargetRefused("host")
        if port is not None and kind.ports is not None and port not in kind.ports:
            raise TargetRefused("port")
        return name

    def check_addresses(self, host: str, addresses: Iterable[str]) -> None:
        """At send time: every address ``host`` resolved to must be public (unless the host is allowed)."""
        if self.allowed(host):
            return
        found = [ip_of(a) for a in addresses]
        if not found:
            raise TargetRefused("unresolvable")
        if any(a is None or not is_public(a) for a in found):
            raise TargetRefused("private_address")


DEFAULT = TargetPolicy()
"""The policy with no host allowed on top (what applies when a site sets nothing)."""
