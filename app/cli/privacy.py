"""`flask --app wsgi privacy ...` commands: reapply the erasure ledger, verify its file."""

import click
from flask.cli import AppGroup

from app.extensions import db
from app.services import erasure, ledger, storage

group = AppGroup("privacy", help="Privacy commands.")


@group.command("reapply-erasures")
@click.option("--dry-run", is_flag=True, help="Only report what would be erased again.")
def reapply_erasures(dry_run: bool):
    """After a restore: erase again the members the ledger file says were erased."""
    try:
        result = erasure.reapply(None, dry_run=dry_run)
    except ledger.LedgerError as exc:
        db.session.rollback()
        raise click.ClickException(f"The ledger file cannot be read: {exc}") from exc
    if result.chain_problems:
        click.echo("WARNING: the ledger file's chain is broken:", err=True)
        for problem in result.chain_problems:
            click.echo(f"  {problem}", err=True)
    click.echo(f"Ledger file: {result.file_entries} entr{'y' if result.file_entries == 1 else 'ies'}.")
    click.echo(f"Ledger rows missing from the database: {result.table_rows_restored}"
               + (" (would be restored)" if dry_run else " (restored)"))
    for _id, number, method, reference in result.found:
        click.echo(f"  member {number}: {method}" + (f" ({reference})" if reference else ""))
    if dry_run:
        db.session.rollback()
        click.echo(f"{len(result.found)} member(s) would be erased again (dry run, nothing changed).")
    else:
        db.session.commit()  # checkpoints the WAL (SQLite) or vacuums the tables (PostgreSQL)
        click.echo(f"{result.erased} member(s) erased again.")
        if result.identifiers:
            echo_file_scan(erasure.verify_files(result.identifiers))


def echo_file_scan(files: dict) -> None:
    """Print what the raw-bytes scan of the database files found (counts per file and kind, no values)."""
    if not files["scanned"]:
        click.echo("Database files: not readable by the portal on PostgreSQL (see docs/privacy-requests.md).")
        return
    for item in files["files"]:
        hits = ", ".join(f"{kind} {n}" for kind, n in item["hits"].items()) or "none"
        click.echo(f"  {item['file']} ({item['bytes']} bytes): {hits}")
    click.echo(f"Residual scan of the database files: {files['failures']} cop{'y' if files['failures'] == 1 else 'ies'}"
               f" left" + (f", {files['explained']} in rows the law keeps" if files["explained"] else "")
               + (f", date of birth {files['shared']} (shared with other members)" if files["shared"] else "") + ".")


@group.command("checkpoint")
def checkpoint_command():
    """Checkpoint and truncate SQLite's WAL (or VACUUM every table on PostgreSQL) now."""
    tables = {table.name for table in db.metadata.sorted_tables}
    if storage.cleanup(tables):
        click.echo("Done: no old page copies remain in the WAL." if storage.database_path() else "VACUUM done.")
    else:
        raise click.ClickException("Could not complete: other connections are reading. Try again when the portal is quiet.")


@group.command("verify-ledger")
def verify_ledger():
    """Check the ledger file's hash chain and compare it with the database table."""
    try:
        health = ledger.check(ledger.read_file(), members=False)
    except ledger.LedgerError as exc:
        raise click.ClickException(str(exc)) from exc
    problems, missing = health.chain_problems, health.missing
    click.echo(f"Ledger file: {len(health.entries)} entries; database table: {ledger.table_count()} rows.")
    if missing:
        click.echo(f"{len(missing)} file entries are missing from the database: run `privacy reapply-erasures`.")
    if problems:
        for problem in problems:
            click.echo(f"  {problem}", err=True)
        raise click.ClickException("The ledger file's chain is broken.")
    click.echo("The chain is intact.")


def register(app) -> None:
    app.cli.add_command(group)
