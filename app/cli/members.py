"""`flask --app wsgi members import FILE --mapping MAPPING.json [--dry-run]`: the member import."""

from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from app.extensions import db
from app.services import importer

group = AppGroup("members", help="Member administration from the command line.")


@group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", "mapping_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help='JSON object {"column name": "field", ...}; fields: ' + ", ".join(importer.FIELDS))
@click.option("--dry-run", is_flag=True, help="Check every row and write the refused ones; import nothing.")
@click.option("--lang", type=click.Choice(["en", "nl"]), default="en", show_default=True,
              help="Language of the reasons.")
def import_command(file: Path, mapping_file: str, dry_run: bool, lang: str):
    """Import members from a CSV export; refused rows are written beside FILE with a reason column."""
    with force_locale(lang):
        try:
            mapping = importer.load_mapping_file(mapping_file)
            imp = importer.receive(file.read_bytes(), actor=None, locale=lang)
            importer.set_mapping(imp, mapping, actor=None)
            db.session.commit()
        except importer.MemberImportError as error:
            db.session.rollback()
            raise click.ClickException(str(error.message)) from None
        refused_target = file.with_name(f"{file.stem}.refused.csv")
        if dry_run:
            result = importer.preview(imp, refused_file=True)
            importer.cancel(imp, actor=None)
            db.session.commit()
            counts = result.counts
            refused = result.refused_csv
            click.echo(f"Dry run: {result.total} rows; would create {counts['create']}, update {counts['update']}, "
                       f"leave {counts['unchanged']} unchanged, refuse {counts['refused']}.")
        else:
            importer.run_all(imp, actor=None, commit=db.session.commit)
            refused = importer.take_refused_file(imp)
            db.session.commit()
            click.echo(f"Imported {imp.processed_rows} rows: created {imp.created_count}, updated "
                       f"{imp.updated_count}, unchanged {imp.unchanged_count}, refused {imp.refused_count}.")
        if refused:
            refused_target.write_bytes(refused)
            refused_target.chmod(0o600)
            click.echo(f"Refused rows with their reasons: {refused_target}")


def register(app) -> None:
    app.cli.add_command(group)
