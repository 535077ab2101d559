"""Render threadlift's ``sql/`` queries for other SQL engines with sqlglot.

The queries are written once, in DuckDB's dialect (the reference). :func:`render` parses
one of them, rewrites the few DuckDB-only constructs into portable ones, replaces the
``$name`` parameters by literals built as sqlglot expressions (never by formatting text)
and generates the target dialect: ``spark`` (run by :mod:`threadlift.engines.spark`),
``bigquery``, ``snowflake`` and ``trino`` (for users who run the SQL in their warehouse),
or ``duckdb`` itself.

The one piece written per dialect is the bucketing expression of the assignment contract
(:mod:`threadlift.core.bucketing`), :func:`bucket_sql`; calls to the workspace macro ``threadlift_bucket`` are
replaced by it.

Rewrites (each keeps DuckDB's meaning):

* ``fsum(x)`` (compensated sum) becomes ``sum(x)`` outside DuckDB;
* ``t + to_days(n)`` / ``t - to_days(n)`` become a timestamp-add of ``n`` days;
* a ``SELECT`` made only of ``unnest(<list literal>)`` columns, with no ``FROM``, becomes a
  ``VALUES`` table (DuckDB zips parallel lists; Spark allows one generator per select);
* ``ASOF [LEFT] JOIN`` becomes a join bounded by the next row's key (``lead``);
* ``cte.* EXCLUDE (…)`` becomes the CTE's remaining columns;
* the table function ``range(a, b)`` becomes a subquery with its column ``range``;
* on Spark, ``count(DISTINCT x) OVER (…)`` becomes ``size(collect_set(x) OVER (…))``;
* ``WITH name AS MATERIALIZED`` (a DuckDB planner hint) loses the hint;
* ``TIMESTAMP '-infinity'`` becomes the smallest timestamp every engine accepts.

Examples:
    >>> sql = render("analysis/units/unit_counts", "spark")
    >>> "GROUP BY arm" in sql
    True
    >>> bucket_sql("trino", "'a'", "'b'")
    "from_base(substr(to_hex(md5(to_utf8('a' || ':' || 'b'))), 1, 15), 16) % 10000"
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Literal

import sqlglot
from sqlglot import exp

from threadlift.engines.sqlfiles import sql_text, strip_header
from threadlift.errors import ConfigError

Dialect = Literal["duckdb", "spark", "bigquery", "snowflake", "trino"]
DIALECTS: Final[tuple[Dialect, ...]] = ("duckdb", "spark", "bigquery", "snowflake", "trino")
"""Dialects :func:`render` writes; ``duckdb`` is the reference the files are written in."""

BUCKET_MACRO = "threadlift_bucket"
"""The workspace macro (``sql/workspace/002_assignment_registry.sql``) the assignment SQL calls."""

_MIN_TIMESTAMP = "0001-01-01 00:00:00"

_BUCKET_TEMPLATES: Final[dict[Dialect, str]] = {
    "duckdb": "CAST('0x' || substr(md5({salt} || ':' || {unit}), 1, 15) AS BIGINT) % 10000",
    "spark": "CAST(conv(substr(md5(concat({salt}, ':', {unit})), 1, 15), 16, 10) AS BIGINT) % 10000",
    "bigquery": (
        "MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5(CONCAT({salt}, ':', {unit}))), 1, 15)) AS INT64),"
        " 10000)"
    ),
    "snowflake": (
        "MOD(TO_NUMBER(SUBSTR(MD5({salt} || ':' || {unit}), 1, 15), 'XXXXXXXXXXXXXXX'), 10000)"
    ),
    "trino": "from_base(substr(to_hex(md5(to_utf8({salt} || ':' || {unit}))), 1, 15), 16) % 10000",
}


def _check_dialect(dialect: str) -> Dialect:
    for known in DIALECTS:
        if dialect == known:
            return known
    raise ConfigError(f"unknown SQL dialect {dialect!r}; choose one of {', '.join(DIALECTS)}")


def bucket_sql(dialect: str, salt_sql: str, id_sql: str) -> str:
    """The bucketing expression ``bucket(salt, unit_id)`` (:mod:`threadlift.core.bucketing`) in ``dialect``.

    ``int(hex(md5(utf8(salt + ":" + unit_id)))[0:15], 16) mod 10000``: the first 15 hex
    digits (60 bits) fit a signed 64-bit integer in every engine.

    Args:
        dialect: One of :data:`DIALECTS`.
        salt_sql: SQL expression of the salt (a column or a quoted literal), in ``dialect``.
        id_sql: SQL expression of the unit id, in ``dialect``.

    Returns:
        The expression, as SQL text of ``dialect``.

    Examples:
        >>> bucket_sql("spark", "salt", "contact_id")
        "CAST(conv(substr(md5(concat(salt, ':', contact_id)), 1, 15), 16, 10) AS BIGINT) % 10000"
    """
    return _BUCKET_TEMPLATES[_check_dialect(dialect)].format(salt=salt_sql, unit=id_sql)


def literal(value: Any) -> exp.Expr:
    """A Python value as a SQL literal expression (the safe way to put a value into SQL).

    Strings become quoted string literals (quotes escaped by the generator), numbers
    numeric literals, datetimes ``CAST('…' AS TIMESTAMP)`` (naive UTC), lists arrays.

    Raises:
        ConfigError: for a value of another type, or a non-finite float.
    """
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int | Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"parameter value {value!r} is not a finite number")
        return exp.Literal.number(repr(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            raise ConfigError(f"timestamp parameter {value} must be naive UTC")
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP)
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), exp.DataType.Type.DATE)
    if isinstance(value, list | tuple):
        return exp.Array(expressions=[literal(v) for v in value])
    raise ConfigError(f"cannot use a {type(value).__name__} as a SQL parameter value")


def parse(sql: str) -> exp.Expr:
    """Parse one DuckDB statement (the dialect of ``sql/``)."""
    statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    if len(statements) != 1:
        raise ConfigError(f"expected exactly one SQL statement, found {len(statements)}")
    return statements[0]


def bind(tree: exp.Expr, params: Mapping[str, Any]) -> exp.Expr:
    """Replace every ``$name`` placeholder of ``tree`` by the literal of ``params[name]``.

    Raises:
        ConfigError: when the statement uses a parameter that ``params`` lacks.
    """

    def replace(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder) and node.name:
            if node.name not in params:
                raise ConfigError(
                    f"the query needs parameter ${node.name}; pass it (given: "
                    f"{', '.join(sorted(params)) or 'none'})"
                )
            return literal(params[node.name])
        return node

    return tree.transform(replace, copy=True)


def _unwrap_cast(node: exp.Expr) -> exp.Expr:
    while isinstance(node, exp.Cast):
        node = node.this
    return node


def _to_days_argument(node: exp.Expr) -> exp.Expr | None:
    argument: exp.Expr | None = None
    if isinstance(node, exp.ToDays):
        argument = node.this
    elif isinstance(node, exp.Anonymous) and node.name.lower() == "to_days":
        argument = node.expressions[0]
    return argument


def _asof_to_window(join: exp.Join) -> exp.Join | None:
    """``A ASOF [LEFT] JOIN B ON keys AND a.x >= b.y`` as a plain join on a ``lead`` bound.

    The right table gets the next ``y`` of its key (``lead``), so each left row matches the
    one right row with the latest ``y`` at or before ``x`` (the last of ties), as ASOF does.
    """
    if (join.args.get("method") or "").upper() != "ASOF":
        return None
    right = join.this
    if not isinstance(right, exp.Table) or not right.alias_or_name:
        return None
    alias = right.alias_or_name
    condition = join.args.get("on")
    if condition is None:
        return None
    parts = list(condition.flatten()) if isinstance(condition, exp.And) else [condition]
    keys: list[exp.Expr] = []
    bound: tuple[exp.Expr, exp.Expr, bool] | None = None
    for part in parts:
        sides = _split_sides(part, alias)
        if isinstance(part, exp.EQ) and sides is not None:
            keys.append(sides[1])
        elif isinstance(part, exp.GTE | exp.GT | exp.LTE | exp.LT) and sides is not None:
            left_side, right_side = sides
            right_is_lower = (part.this is left_side) == isinstance(part, exp.GTE | exp.GT)
            if not right_is_lower:
                return None
            bound = (left_side, right_side, isinstance(part, exp.GTE | exp.LTE))
        else:
            return None
    if bound is None:
        return None
    left_value, right_value, inclusive = bound
    following = exp.Window(
        this=exp.Anonymous(this="lead", expressions=[right_value.copy()]),
        partition_by=[k.copy() for k in keys],
        order=exp.Order(expressions=[exp.Ordered(this=right_value.copy(), nulls_first=False)]),
    )
    table = right.copy()
    table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    ranked = (
        exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier(alias)))
        .select(exp.alias_(following, "_asof_next"))
        .from_(table)
        .subquery(alias)
    )
    nxt = exp.column("_asof_next", table=alias)
    upper = (
        exp.LT(this=left_value.copy(), expression=nxt)
        if inclusive
        else exp.LTE(this=left_value.copy(), expression=nxt)
    )
    on = exp.and_(condition.copy(), exp.Paren(this=exp.or_(exp.Is(this=nxt, expression=exp.Null()), upper)))
    return exp.Join(this=ranked, side=join.args.get("side"), on=on)


def _split_sides(
    comparison: exp.Expr, alias: str
) -> tuple[exp.Expr, exp.Expr] | None:
    """(left-table side, right-table side) of a binary comparison, or None when mixed."""
    if not isinstance(comparison, exp.Binary):
        return None

    def tables(node: exp.Expr) -> set[str]:
        return {c.table for c in node.find_all(exp.Column)}

    a, b = comparison.this, comparison.expression
    if tables(b) == {alias} and alias not in tables(a):
        return a, b
    if tables(a) == {alias} and alias not in tables(b):
        return b, a
    return None


def _expand_star_exclude(select: exp.Select) -> None:
    """``cte.* EXCLUDE (a, b)`` as the CTE's other columns (Spark has no star exclusion)."""
    with_ = select.args.get("with") or select.args.get("with_")
    if with_ is None:
        return
    ctes = {cte.alias: cte.this for cte in with_.expressions}
    projections: list[exp.Expr] = []
    changed = False
    for projection in select.expressions:
        star = projection.this if isinstance(projection, exp.Column) else None
        excluded = None
        if isinstance(star, exp.Star):
            excluded = star.args.get("except_") or star.args.get("except")
        if excluded and projection.table in ctes:
            names = {e.name for e in excluded}
            source = ctes[projection.table]
            projections.extend(
                exp.column(p.alias_or_name, table=projection.table)
                for p in source.expressions
                if p.alias_or_name not in names
            )
            changed = True
        else:
            projections.append(projection)
    if changed:
        select.set("expressions", projections)


def _range_table(series: exp.GenerateSeries, alias: str, dialect: Dialect) -> exp.Expr:
    """DuckDB's table function ``range(a, b) AS alias`` (one column, ``range``) as a subquery."""
    start, end = series.args.get("start"), series.args.get("end")
    if dialect == "snowflake" and isinstance(start, exp.Literal) and isinstance(end, exp.Literal):
        count = int(end.name) - int(start.name)
        query = sqlglot.parse_one(
            f"SELECT ROW_NUMBER() OVER (ORDER BY SEQ4()) - 1 + {int(start.name)} AS range "
            f"FROM TABLE(GENERATOR(ROWCOUNT => {count}))",
            read="snowflake",
        )
        assert isinstance(query, exp.Select)
        return query.subquery(alias)
    column = exp.Alias(this=exp.Unnest(expressions=[series.copy()]), alias=exp.to_identifier("range"))
    return exp.select(column).subquery(alias)


def _unnest_select_to_values(select: exp.Select) -> exp.Expr | None:
    """``SELECT [DISTINCT] unnest([..]) AS a, unnest([..]) AS b`` (no FROM) as a VALUES query."""
    if select.args.get("from") or select.args.get("from_") or not select.expressions:
        return None
    names: list[str] = []
    columns: list[list[exp.Expr]] = []
    for projection in select.expressions:
        if not isinstance(projection, exp.Alias):
            return None
        inner = projection.this
        if isinstance(inner, exp.Explode | exp.Unnest):
            array = _unwrap_cast(inner.this if isinstance(inner, exp.Explode) else inner.expressions[0])
        else:
            return None
        if not isinstance(array, exp.Array):
            return None
        names.append(projection.alias)
        columns.append(list(array.expressions))
    if len({len(c) for c in columns}) != 1:
        return None
    rows = [exp.Tuple(expressions=[c[i].copy() for c in columns]) for i in range(len(columns[0]))]
    if not rows:
        return None
    values = exp.Values(
        expressions=rows,
        alias=exp.TableAlias(
            this=exp.to_identifier("_params"),
            columns=[exp.to_identifier(n) for n in names],
        ),
    )
    query = exp.select(*[exp.column(n) for n in names]).from_(values)
    if select.args.get("distinct"):
        query = query.distinct()
    return query


def portable(tree: exp.Expr, dialect: str) -> exp.Expr:
    """Rewrite DuckDB-only constructs of ``tree`` (after :func:`bind`) for ``dialect``."""
    target = _check_dialect(dialect)

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Add | exp.Sub):
            days = _to_days_argument(node.expression)
            if days is not None:
                amount = days if isinstance(node, exp.Add) else exp.Neg(this=exp.Paren(this=days))
                add = exp.DatetimeAdd if target == "bigquery" else exp.TimestampAdd
                return add(this=node.this, expression=amount, unit=exp.var("DAY"))
        if target == "duckdb":
            return node
        if (
            isinstance(node, exp.Table)
            and isinstance(node.this, exp.GenerateSeries)
            and node.alias
            and not node.args["alias"].columns
        ):
            return _range_table(node.this, node.alias, target)
        if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
            node.set("materialized", None)  # a DuckDB planner hint; others decide themselves
            return node
        if isinstance(node, exp.Join):
            plain = _asof_to_window(node)
            if plain is not None:
                return plain
        if (
            target == "spark"
            and isinstance(node, exp.Window)
            and isinstance(node.this, exp.Count)
            and isinstance(node.this.this, exp.Distinct)
        ):
            window = node.copy()
            window.set("this", exp.Anonymous(this="collect_set", expressions=node.this.this.expressions))
            return exp.Anonymous(this="size", expressions=[window])
        if isinstance(node, exp.Anonymous) and node.name.lower() == "fsum":
            return exp.Sum(this=node.expressions[0])
        if isinstance(node, exp.Anonymous) and node.name.lower() == BUCKET_MACRO:
            salt, unit = node.expressions
            return _bucket_expression(target, salt, unit)
        if isinstance(node, exp.Select):
            values = _unnest_select_to_values(node)
            if values is not None:
                return values
            _expand_star_exclude(node)
        if (
            isinstance(node, exp.Cast)
            and node.to.is_type(exp.DataType.Type.TIMESTAMP)
            and isinstance(node.this, exp.Literal)
            and node.this.name.strip().lower() == "-infinity"
        ):
            return exp.cast(exp.Literal.string(_MIN_TIMESTAMP), exp.DataType.Type.TIMESTAMP)
        return node

    return tree.transform(rewrite, copy=True)


def _bucket_expression(dialect: Dialect, salt: exp.Expr, unit: exp.Expr) -> exp.Expr:
    template = sqlglot.parse_one(bucket_sql(dialect, "__salt__", "__unit__"), read=dialect)

    def place(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Column) and node.name == "__salt__":
            return salt.copy()
        if isinstance(node, exp.Column) and node.name == "__unit__":
            return unit.copy()
        return node

    return exp.Paren(this=template.transform(place))


def transpile(
    sql: str, dialect: str, params: Mapping[str, Any] | None = None, *, pretty: bool = False
) -> str:
    """Render one DuckDB statement for ``dialect`` with ``params`` bound as literals.

    With ``params=None`` the ``$name`` placeholders are kept, written in the target's
    parameter syntax (``:name``, ``@name``), for engines that bind parameters themselves.
    """
    target = _check_dialect(dialect)
    tree = parse(sql)
    if params is not None:
        tree = bind(tree, params)
    return portable(tree, target).sql(dialect=target, pretty=pretty)


def render(
    query: str,
    dialect: str,
    params: Mapping[str, Any] | None = None,
    *,
    pretty: bool = False,
) -> str:
    """Render ``sql/<query>.sql`` for ``dialect``, parameters bound as literals.

    Args:
        query: A query name such as ``analysis/lift/action_moments``.
        dialect: One of :data:`DIALECTS`.
        params: Parameter values by name; ``None`` keeps them as placeholders.
        pretty: Indent the output.

    Returns:
        One SQL statement in ``dialect``, without the header comment, its ``-- include:``
        fragments expanded (:func:`threadlift.engines.sqlfiles.sql_text`).
    """
    return transpile(strip_header(sql_text(query)), dialect, params, pretty=pretty)


def query_parameters(query: str) -> list[str]:
    """Names of the ``$parameters`` that ``sql/<query>.sql`` uses, in order of first use."""
    seen: dict[str, None] = {}
    for node in parse(strip_header(sql_text(query))).find_all(exp.Placeholder):
        if node.name:
            seen.setdefault(node.name, None)
    return list(seen)


def render_all(
    queries: Sequence[str], dialect: str, params: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """:func:`render` several queries, each given only the parameters it uses."""
    result: dict[str, str] = {}
    for query in queries:
        needed = query_parameters(query)
        own = None if params is None else {k: v for k, v in params.items() if k in needed}
        result[query] = render(query, dialect, own)
    return result
