"""What a review must know of each candidate's database, in sentences: where its regions'
queries go and what that costs them, and the product's risks (support, idle suspends)."""

from __future__ import annotations

from sim.data import database_plans, sites
from sim.databases import describe_site
from sim.deployment import Deployment, deployment
from sim.routing import site_rtt_matrix
from sim.scenario import Scenario

RISKS = {
    "fly-postgres": "fly-postgres: Postgres on Fly Machines is not supported by Fly.io; the team "
    "owns its failover, backups and upgrades",
    "litefs": "litefs: Fly.io does not support LiteFS, which has been dormant since its v0.5.14 "
    "release of 2025-04-22 (Fly's LiteFS docs, since 2025-09-11): a risk to weigh before "
    "building on it",
    "supabase": "supabase: read replicas serve only the Data API's GETs and read-only "
    "connections; writes, Auth, Storage and Realtime always use the primary",
}


def placements(scenario: Scenario) -> list[str]:
    """Where each database went when it could not go where the scenario put it (the
    warnings of loading it, for the report)."""
    moved = (database.placed(scenario.app.primary_region)[1] for database in
             scenario.database_choices.values())  # fmt: skip
    return list(dict.fromkeys(line for line in moved if line))


def database_notes(scenario: Scenario) -> list[str]:
    """One line per candidate whose regions query a database elsewhere (with the round trips
    they pay), then what each product in use does that a review must know."""
    lines, products = [], {}
    for name in scenario.candidates:
        deployed = deployment(scenario, name)
        line = remote_queries(scenario, name, deployed)
        if line:
            lines.append(line)
        layout, database = deployed.layout, deployed.database
        if database.suspends:
            products[layout.plan] = (
                f"{layout.plan}: Neon suspends the compute after 5 minutes without queries; the "
                f"next query waits {database.resume_ms:g} ms (database.resume_ms), and the bill "
                "counts only the time it is active"
            )
        elif layout.product == "turso":
            commit_ms = database_plans().at[layout.plan, "commit_ms"]
            products[layout.plan] = (
                f"{layout.plan}: every write commits in {describe_site(layout.primary)} up to "
                f"{commit_ms:g} ms later (Turso's diskless storage)"
            )
        products.setdefault(layout.product, RISKS.get(layout.product, ""))
    return lines + [line for line in products.values() if line]


def remote_queries(scenario: Scenario, name: str, deployed: Deployment) -> str | None:
    """Which regions of a candidate have no copy of the data and send their reads' queries to
    the primary in another place, and the round trips that adds: "gru and sin send every query
    to the database in lhr: reads +2 x 190 ms (gru), +2 x 171 ms (sin)"."""
    layout, database = deployed.layout, deployed.database
    remote = [
        (region, site)
        for region, site in zip(layout.regions, layout.reads, strict=True)
        if site == layout.primary != region
    ]
    if not remote or database.queries_per_read == 0:
        return None
    internet = layout.path == "public"
    table = sites()
    costs = [
        float(site_rtt_matrix(table, [region], [site], scenario.network, internet=internet)[0, 0])
        for region, site in remote
    ]
    far = [ms > scenario.network.same_region_rtt_ms for ms in costs]  # not the same site
    remote = [pair for pair, out in zip(remote, far, strict=True) if out]
    costs = [ms for ms, out in zip(costs, far, strict=True) if out]
    if not remote:
        return None
    where = f"the database in {describe_site(layout.primary)}"
    trips = database.queries_per_read
    each = ", ".join(
        f"+{trips} x {ms:,.0f} ms ({region})" for (region, _), ms in zip(remote, costs, strict=True)
    )
    verb = "sends" if len(remote) == 1 else "send"
    regions = and_list([r for r, _ in remote])
    return f"{name}: {regions} {verb} every query to {where}: reads {each}"


def and_list(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"
