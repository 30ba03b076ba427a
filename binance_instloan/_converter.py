"""The cattrs converter that turns parsed JSON bodies into the models of :mod:`._models`.

The transport parses bodies with ``json.loads(..., parse_float=Decimal)``, so a value reaches
the hooks here as ``str``, ``int``, ``Decimal``, ``bool``, ``None``, ``list`` or ``dict``:

* amounts, rates, equities and LTVs become exact ``Decimal`` objects from a string, an int
  or a Decimal; a ``float`` means a lossy parse upstream and is refused;
* ids become ``int`` from an int, a numeric string or an integral Decimal;
* millisecond times become timezone-aware UTC ``datetime`` objects, exact to the millisecond;
* booleans come as JSON booleans or as ``"TRUE"``/``"FALSE"`` in any case;
* ``X | str`` enum fields hold the member for a known value and the plain string otherwise;
* an optional field maps ``null`` (and, unless it is a ``str``, ``""``) to ``None``;
* an array field also accepts a single object (one element) and ``null`` (no element);
* a class whose fields all have defaults also accepts an empty body (``None`` or ``""``).

Unknown keys are ignored unless the converter is built with ``forbid_extra_keys=True``
(the test suite does this, so a field we forgot fails a test). The hooks are generated once,
when :func:`make_converter` runs; the module-level :data:`converter` is built at import.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, cast

import attrs
import cattrs
from cattrs.errors import (
    BaseValidationError,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.gen import make_dict_structure_fn, override

from ._errors import InstLoanError
from ._models import (
    ActiveRiskUnit,
    AssetAmount,
    BorrowRepayRecord,
    BorrowResult,
    ClosedRiskUnit,
    CloseRiskUnitResult,
    CollateralAccount,
    EditMemberResult,
    ForceLiquidation,
    ForceLiquidationTransfer,
    InterestRebateBalance,
    InterestRebateRecord,
    InterestRecord,
    Liability,
    LiquidationSnapshot,
    LiquidationTransferRecord,
    MaxBorrowable,
    Member,
    Page,
    RepayResult,
    RiskUnitDetails,
    TransferOutResult,
    Wallet,
    WalletSnapshot,
)

__all__ = [
    "EPOCH",
    "ResponseFormatError",
    "converter",
    "make_converter",
    "structure",
    "structure_list",
    "structure_page",
]

T = TypeVar("T")
_Hook = Callable[[Any, Any], Any]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Nested classes come before the classes that contain them: a generated hook binds the hooks
# of its fields when it is made, so those must already be registered.
_MODELS: tuple[type[Any], ...] = (
    Liability,
    Wallet,
    CollateralAccount,
    RiskUnitDetails,
    Member,
    ActiveRiskUnit,
    ClosedRiskUnit,
    WalletSnapshot,
    LiquidationSnapshot,
    ForceLiquidation,
    AssetAmount,
    LiquidationTransferRecord,
    ForceLiquidationTransfer,
    BorrowRepayRecord,
    InterestRecord,
    MaxBorrowable,
    InterestRebateBalance,
    InterestRebateRecord,
    BorrowResult,
    RepayResult,
    CloseRiskUnitResult,
    EditMemberResult,
    TransferOutResult,
)

# Row types of the paged endpoints; their ``Page[...]`` hooks are generated up front too.
_PAGE_ROWS: tuple[type[Any], ...] = (
    ClosedRiskUnit,
    ForceLiquidation,
    ForceLiquidationTransfer,
    BorrowRepayRecord,
    InterestRecord,
    InterestRebateRecord,
)


class ResponseFormatError(InstLoanError, ValueError):
    """A response body does not have the shape or the values its model expects.

    ``target`` is the type that was being built and ``body`` the parsed JSON; the original
    exception is chained as ``__cause__``.
    """

    def __init__(self, target: Any, body: Any, details: str) -> None:
        super().__init__(f"unexpected response body for {_type_name(target)}: {details}")
        self.target = target
        self.body = body
        self.details = details


def _type_name(tp: Any) -> str:
    args = typing.get_args(tp)
    origin = typing.get_origin(tp) or tp
    name = getattr(origin, "__name__", None) or repr(origin)
    return f"{name}[{', '.join(_type_name(a) for a in args)}]" if args else name


# --- scalar hooks ---------------------------------------------------------------------------


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def _structure_decimal(value: Any, _: Any) -> Decimal:
    # Strings first: the most common wire form, and the hot path of a large page.
    if type(value) is str:
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"expected a decimal number, got {_describe(value)}") from None
        if result.is_finite():
            return result
        raise ValueError(f"expected a finite decimal number, got {_describe(value)}")
    if type(value) is Decimal:
        if value.is_finite():
            return value
        raise ValueError(f"expected a finite decimal number, got {_describe(value)}")
    if type(value) is int:
        return Decimal(value)
    if type(value) is float:
        raise TypeError(
            f"got float {value!r} for a decimal field: parse the body with "
            "json.loads(..., parse_float=Decimal) so that no amount loses precision"
        )
    raise TypeError(f"expected a decimal string or number, got {_describe(value)}")


def _structure_int(value: Any, _: Any) -> int:
    cls = type(value)
    if cls is int:
        return cast(int, value)
    if cls is str:
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"expected an integer, got {_describe(value)}") from None
    if cls is Decimal and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if cls is Decimal:
        raise ValueError(f"expected an integer, got {_describe(value)}")
    raise TypeError(f"expected an integer, got {_describe(value)}")


def _structure_id(value: Any, _: Any) -> int | str:
    # A transaction id is typed String in the docs and sent as a number: take either, as an
    # int when it is one, so ids compare equal to the records' ``tranId``.
    if type(value) is str and value.isascii() and value.isdigit():
        return int(value)
    if type(value) is str and value and value.isascii() and value.isprintable():
        return value
    return _structure_int(value, int)


def _structure_bool(value: Any, _: Any) -> bool:
    if value is True or value is False:
        return value
    if type(value) is str:
        upper = value.upper()
        if upper == "TRUE":
            return True
        if upper == "FALSE":
            return False
    raise TypeError(f'expected a boolean or "TRUE"/"FALSE", got {_describe(value)}')


def _structure_str(value: Any, _: Any) -> str:
    if type(value) is str:
        return value
    # A number where text is documented loses nothing as its decimal string.
    if type(value) is int or type(value) is Decimal:
        return str(value)
    raise TypeError(f"expected a string, got {_describe(value)}")


def _structure_datetime(value: Any, _: Any) -> datetime:
    ms = value if type(value) is int else _structure_int(value, int)
    # Integer milliseconds through timedelta: float seconds would lose the last digit.
    try:
        return EPOCH + timedelta(0, 0, 0, ms)
    except OverflowError:
        raise ValueError(f"millisecond timestamp out of range: {_describe(value)}") from None


# --- hook factories for composite types ------------------------------------------------------


def _union_args(tp: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return None


def _enum_of_open_enum(tp: Any) -> type[enum.Enum] | None:
    """The enum class of an ``X | str`` union, else ``None``."""
    args = _union_args(tp)
    if args is None or len(args) != 2 or str not in args:
        return None
    other = args[0] if args[1] is str else args[1]
    if isinstance(other, type) and issubclass(other, enum.Enum):
        return other
    return None


def _make_open_enum_hook(tp: Any) -> _Hook:
    enum_cls = _enum_of_open_enum(tp)
    assert enum_cls is not None
    members: dict[str, enum.Enum] = {m.value: m for m in enum_cls}

    def structure_open_enum(value: Any, _: Any) -> Any:
        if type(value) is not str:
            value = _structure_str(value, str)
        return members.get(value, value)

    return structure_open_enum


def _is_optional(tp: Any) -> bool:
    args = _union_args(tp)
    return args is not None and type(None) in args


def _make_optional_hook(conv: cattrs.Converter) -> Callable[[Any], _Hook]:
    def factory(tp: Any) -> _Hook:
        args = tuple(a for a in typing.get_args(tp) if a is not type(None))
        inner: Any = args[0] if len(args) == 1 else typing.Union[args]  # noqa: UP007
        inner_hook = conv.get_structure_hook(inner)

        if inner is str:

            def structure_optional_str(value: Any, _: Any) -> Any:
                return None if value is None else inner_hook(value, inner)

            return structure_optional_str

        def structure_optional(value: Any, _: Any) -> Any:
            # Binance sends "" for "no value" as often as null (max-borrowable does both).
            if value is None or value == "":
                return None
            return inner_hook(value, inner)

        return structure_optional

    return factory


def _is_sequence(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple:
        return len(args) == 2 and args[1] is Ellipsis
    return origin is list and len(args) == 1


def _make_sequence_hook(conv: cattrs.Converter) -> Callable[[Any], _Hook]:
    def factory(tp: Any) -> _Hook:
        item_type = typing.get_args(tp)[0]
        item_hook = conv.get_structure_hook(item_type)
        make: Callable[[list[Any]], Any] = tuple if typing.get_origin(tp) is tuple else list
        detailed = conv.detailed_validation
        # Flat rows come with a generated loop over a whole list (see _fast_row_hook).
        rows: Callable[[list[Any]], list[Any]] | None = getattr(item_hook, "rows", None)

        def structure_sequence(value: Any, _: Any) -> Any:
            cls = type(value)
            if cls is not list and cls is not tuple:
                # The docs mark several arrays that the server sends as one object.
                if cls is dict:
                    value = [value] if value else []
                elif value is None or value == "":
                    return make([])
                else:
                    raise TypeError(f"expected a JSON array, got {_describe(value)}")
            if detailed:
                return make(_structure_items_detailed(value, item_hook, item_type, tp))
            if rows is not None:
                return make(rows(value))
            return make([item_hook(item, item_type) for item in value])

        return structure_sequence

    return factory


def _structure_items_detailed(items: Any, item_hook: _Hook, item_type: Any, tp: Any) -> list[Any]:
    result: list[Any] = []
    errors: list[Exception] = []
    for index, item in enumerate(items):
        try:
            result.append(item_hook(item, item_type))
        except Exception as exc:
            note = IterableValidationNote(f"Structuring {tp} @ index {index}", index, item_type)
            exc.__notes__ = [*getattr(exc, "__notes__", []), note]
            errors.append(exc)
    if errors:
        raise IterableValidationError(f"While structuring {tp!r}", errors, tp)
    return result


# --- generated fast path for flat rows --------------------------------------------------

_MAX_MS = 32503680000000
# Adding one of these is exact and 3x cheaper than datetime.replace(microsecond=...).
_MILLISECONDS = tuple(timedelta(milliseconds=i) for i in range(1000))
_FAST_SCALARS = (int, str, Decimal, datetime)


def _fast_row_hook(conv: cattrs.Converter, cls: type[Any]) -> _Hook | None:
    """A generated hook for a class whose fields are all plain scalars: exact-type checks
    inline, the registered scalar hook only for anything else, and the frozen slots set
    directly (attrs' frozen ``__init__`` pays an ``object.__setattr__`` call per field).

    ``None`` (use cattrs' hook) for anything else: nested or optional fields, defaults,
    validators, converters or ``__attrs_post_init__``, none of which the setters would run.
    A value of another type goes to the same scalar hook as before, so errors are unchanged.
    """
    fields = attrs.fields(cls)
    hints = typing.get_type_hints(cls)
    if getattr(cls, "__attrs_post_init__", None) is not None or any(
        a.validator is not None or a.converter is not None or a.default is not attrs.NOTHING
        or hints[a.name] not in _FAST_SCALARS
        for a in fields
    ):
        return None
    ns: dict[str, Any] = {
        "cls": cls, "new": object.__new__, "Decimal": Decimal, "int": int, "str": str,
        "fromts": datetime.fromtimestamp, "UTC": UTC, "MAXMS": _MAX_MS, "MS": _MILLISECONDS,
    }
    row: list[str] = []  # the body for one row ``o``, ending with ``obj`` built
    for i, a in enumerate(fields):
        tp = hints[a.name]
        ns[f"h{i}"], ns[f"t{i}"] = conv.get_structure_hook(tp), tp
        ns[f"set{i}"] = getattr(cls, a.name).__set__
        row.append(f"v{i} = o[{_camel(a.name)!r}]")
        if tp is Decimal:
            row.append(f"if v{i}.__class__ is not Decimal or not v{i}.is_finite():"
                       f" v{i} = h{i}(v{i}, t{i})")
        elif tp is int or tp is str:
            row.append(f"if v{i}.__class__ is not {tp.__name__}: v{i} = h{i}(v{i}, t{i})")
        else:  # datetime from int milliseconds
            row += [
                f"if v{i}.__class__ is int and 0 <= v{i} <= MAXMS:",
                f"    s{i}, m{i} = divmod(v{i}, 1000)",
                f"    v{i} = fromts(s{i}, UTC)",
                f"    if m{i}: v{i} = v{i} + MS[m{i}]",
                f"else: v{i} = h{i}(v{i}, t{i})",
            ]
    row.append("obj = new(cls)")
    row += [f"set{i}(obj, v{i})" for i in range(len(fields))]
    # One row, and a whole list of rows in one loop (a page: no hook call per row).
    source = ["def fast_row(o, _):", *(f"    {line}" for line in row), "    return obj",
              "def fast_rows(items):", "    out = []", "    append = out.append",
              "    for o in items:", *(f"        {line}" for line in row),
              "        append(obj)", "    return out"]
    exec("\n".join(source), ns)  # the source is built above from field names only
    hook = ns["fast_row"]
    hook.rows = ns["fast_rows"]
    return cast(_Hook, hook)


# --- per-class hooks -------------------------------------------------------------------------


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _make_snapshot_hook(conv: cattrs.Converter) -> _Hook:
    """``liquidationSnapshot``: one object as sent, or an array of them merged into one."""
    one = conv.get_structure_hook(LiquidationSnapshot)

    def structure_snapshot(value: Any, _: Any) -> LiquidationSnapshot:
        if type(value) is not list:
            return cast(LiquidationSnapshot, one(value, LiquidationSnapshot))
        parts = [one(item, LiquidationSnapshot) for item in value]
        return LiquidationSnapshot(
            snapshots=tuple(s for part in parts for s in part.snapshots),
            liabilities=tuple(li for part in parts for li in part.liabilities),
        )

    return structure_snapshot


def _accept_empty_body(hook: _Hook) -> _Hook:
    def structure_maybe_empty(value: Any, tp: Any) -> Any:
        return hook({} if value is None or value == "" else value, tp)

    return structure_maybe_empty


def _require_mapping(hook: _Hook) -> _Hook:
    def structure_mapping(value: Any, tp: Any) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"expected a JSON object, got {_describe(value)}")
        return hook(value, tp)

    return structure_mapping


def _class_hook(conv: cattrs.Converter, cls: type[Any], *, forbid_extra_keys: bool) -> _Hook:
    overrides: dict[str, Any] = {a.name: override(rename=_camel(a.name)) for a in attrs.fields(cls)}
    if cls is BorrowResult or cls is RepayResult:
        overrides["transaction_id"] = override(rename="transactionId", struct_hook=_structure_id)
    if cls is ForceLiquidation:
        overrides["liquidation_snapshot"] = override(
            rename="liquidationSnapshot", struct_hook=_make_snapshot_hook(conv)
        )
    hook: _Hook = make_dict_structure_fn(
        cls,
        conv,
        _cattrs_forbid_extra_keys=forbid_extra_keys,
        _cattrs_detailed_validation=conv.detailed_validation,
        **overrides,
    )
    if conv.detailed_validation:
        hook = _require_mapping(hook)
    if all(a.default is not attrs.NOTHING for a in attrs.fields(cls)):
        hook = _accept_empty_body(hook)
    elif not forbid_extra_keys and not conv.detailed_validation:
        hook = _fast_row_hook(conv, cls) or hook
    return hook


def _page_hook(conv: cattrs.Converter, row_cls: type[Any], *, forbid_extra_keys: bool) -> _Hook:
    page_type = cast(Any, Page)[row_cls]
    hook: _Hook = make_dict_structure_fn(
        page_type,
        conv,
        _cattrs_forbid_extra_keys=forbid_extra_keys,
        _cattrs_detailed_validation=conv.detailed_validation,
    )
    if conv.detailed_validation:
        hook = _require_mapping(hook)
    return hook


def _is_page_of(row_cls: type[Any]) -> Callable[[Any], bool]:
    page_type = cast(Any, Page)[row_cls]

    def is_page(tp: Any) -> bool:
        # Compared with ==: parametrised generics are not guaranteed to be the same object.
        return bool(tp == page_type)

    return is_page


def make_converter(
    *, forbid_extra_keys: bool = False, detailed_validation: bool = False
) -> cattrs.Converter:
    """Build a converter for every response model.

    ``forbid_extra_keys=True`` makes an unknown key an error (for tests: production must
    tolerate fields Binance adds). ``detailed_validation=True`` collects every failing field
    with its path, at some cost in speed; :func:`structure` uses it only to explain a failure.
    """
    conv = cattrs.Converter(
        forbid_extra_keys=forbid_extra_keys, detailed_validation=detailed_validation
    )
    for tp, scalar_hook in (
        (Decimal, _structure_decimal),
        (int, _structure_int),
        (bool, _structure_bool),
        (str, _structure_str),
        (datetime, _structure_datetime),
    ):
        conv.register_structure_hook(tp, scalar_hook)
    conv.register_structure_hook_factory(_is_sequence, _make_sequence_hook(conv))
    conv.register_structure_hook_factory(_is_optional, _make_optional_hook(conv))
    conv.register_structure_hook_factory(
        lambda tp: _enum_of_open_enum(tp) is not None, _make_open_enum_hook
    )
    for cls in _MODELS:
        conv.register_structure_hook(
            cls, _class_hook(conv, cls, forbid_extra_keys=forbid_extra_keys)
        )
    for row_cls in _PAGE_ROWS:
        conv.register_structure_hook_func(
            _is_page_of(row_cls), _page_hook(conv, row_cls, forbid_extra_keys=forbid_extra_keys)
        )
    return conv


converter = make_converter()
"""The production converter: unknown keys are ignored."""

_diagnostic_converter = make_converter(detailed_validation=True)

# Everything a hook or a generated function raises on a malformed body.
_PARSE_ERRORS = (
    cattrs.BaseValidationError,
    cattrs.StructureHandlerNotFoundError,
    ForbiddenExtraKeysError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    ArithmeticError,
)


def _describe_failure(exc: BaseException) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    if isinstance(exc, ForbiddenExtraKeysError):
        return f"unexpected fields {sorted(exc.extra_fields)}"
    return str(exc) or type(exc).__name__


def _failure_lines(exc: BaseException, path: str) -> list[str]:
    """Flatten a detailed-validation error into ``"<what> @ <JSON path>"`` lines."""
    lines: list[str] = []
    if isinstance(exc, ClassValidationError):
        with_notes, others = exc.group_exceptions()
        for sub, attr_note in with_notes:
            # The models' attribute names are the snake_case of the JSON keys.
            lines += _failure_lines(sub, f"{path}.{_camel(attr_note.name)}")
    elif isinstance(exc, IterableValidationError):
        with_index, others = exc.group_exceptions()
        for sub, index_note in with_index:
            lines += _failure_lines(sub, f"{path}[{index_note.index}]")
    else:
        return [f"{_describe_failure(exc)} @ {path}"]
    lines += [f"{_describe_failure(sub)} @ {path}" for sub in others]
    return lines


def _explain(data: Any, tp: Any, exc: BaseException) -> str:
    """Say which fields failed and where, re-running a failed parse with detailed validation."""
    failure: BaseException = exc
    # The diagnostic converter is tolerant: when it succeeds (a strict converter refused an
    # unknown key), the original error already says what is wrong.
    if not isinstance(exc, BaseValidationError | ForbiddenExtraKeysError):
        try:
            _diagnostic_converter.structure(data, tp)
        except _PARSE_ERRORS as detailed:
            failure = detailed
    if isinstance(failure, BaseValidationError):
        return "; ".join(_failure_lines(failure, "$"))
    if isinstance(failure, ForbiddenExtraKeysError):
        return f"unexpected fields {sorted(failure.extra_fields)} in {failure.cl.__name__}"
    if isinstance(failure, KeyError):
        return f"required field {failure} missing"
    return _describe_failure(failure)


def _structure(data: Any, tp: Any, conv: cattrs.Converter | None) -> Any:
    conv = converter if conv is None else conv
    try:
        return conv.structure(data, tp)
    except _PARSE_ERRORS as exc:
        raise ResponseFormatError(tp, data, _explain(data, tp, exc)) from exc


def structure(data: Any, cls: type[T], *, converter: cattrs.Converter | None = None) -> T:
    """Build ``cls`` from a parsed JSON body; raise :class:`ResponseFormatError` if it does not fit.

    ``converter`` defaults to the tolerant module-level one; tests pass a strict one.
    """
    return cast(T, _structure(data, cls, converter))


def structure_page(
    data: Any, row_cls: type[T], *, converter: cattrs.Converter | None = None
) -> Page[T]:
    """Build a ``Page[row_cls]`` from a ``{"total": ..., "rows": [...]}`` body."""
    return cast("Page[T]", _structure(data, cast(Any, Page)[row_cls], converter))


def structure_list(
    data: Any, cls: type[T], *, converter: cattrs.Converter | None = None
) -> list[T]:
    """Build a list of ``cls`` from a JSON array (an empty body is an empty list)."""
    return cast("list[T]", _structure(data, list[cls], converter))  # type: ignore[valid-type]
