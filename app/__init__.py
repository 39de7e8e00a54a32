"""The application factory."""

import os
from pathlib import Path

from flask import Flask

from app import config as config_module


def create_app(config_object=None) -> Flask:
    """Build the app from a config class (default: Config, or ProductionConfig via CLUBHOUSE_ENV)."""
    app = Flask(__name__, instance_path=str(config_module.INSTANCE_DIR))
    app.config.from_object(config_object or _default_config())
    # One instance folder: INSTANCE_DIR when the config names one (each test app has its own).
    app.instance_path = os.path.abspath(app.config.get("INSTANCE_DIR") or app.instance_path)
    app.config["INSTANCE_DIR"] = app.instance_path
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config_module.secret_key()
    if app.config.get("PRODUCTION") and not _reporting_only():
        from app import production

        production.enforce(app)
    register_storage_checks(app)
    register_extensions(app)
    register_proxy(app)
    register_service_hooks()
    register_blueprints(app)
    register_error_handlers(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def _reporting_only() -> bool:
    """`flask deploy-check` builds the app to report on unsafe settings, so it must not refuse them."""
    import sys

    return "deploy-check" in sys.argv[1:]


def _default_config():
    import os

    if os.environ.get("CLUBHOUSE_ENV") == "production":
        return config_module.ProductionConfig
    return config_module.Config


def register_storage_checks(app: Flask) -> None:
    """The instance folder is the owner's only; the ledger and its key never lie inside BACKUP_DIR; a set
    CONNECTOR_SECRET_KEY is a real key and a set RETENTION_SWEEP_AT a time of day."""
    from app.services import backup, storage
    from app.services.connectors import secretbox
    from app.services.retention import sweep

    storage.secure_instance_dir(instance=Path(app.instance_path))
    backup.refuse_ledger_in_backup_dir(app.config)
    secretbox.refuse_bad_configured_key(app.config)
    sweep.refuse_bad_sweep_time(app.config)


def register_extensions(app: Flask) -> None:
    from app import auth, i18n
    from app.extensions import babel, csrf, db, login_manager, migrate, principal

    db.init_app(app)
    migrate.init_app(app, db, directory=str(config_module.BASE_DIR / "migrations"))
    login_manager.init_app(app)
    principal.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    auth.init_app(app)


def register_proxy(app: Flask) -> None:
    """Believe X-Forwarded-For/-Proto only from TRUSTED_PROXIES (werkzeug's ProxyFix, for those alone)."""
    from app.blueprints.proxy import TrustedProxyFix

    if app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = TrustedProxyFix(app.wsgi_app, app.config["TRUSTED_PROXIES"])


def register_service_hooks() -> None:
    """Services that listen to others: the changes feed, search index, import and mail on erasures; the export's recipients."""
    from app.services import importer, mail, member_changes, search_index, transfers  # noqa: F401 - importer and mail subscribe to signals

    member_changes.register()
    search_index.register()
    transfers.register_export_source()


def register_blueprints(app: Flask) -> None:
    from app.blueprints import blueprints_for
    from app.blueprints.web import DatabaseIntConverter, TextConverter

    # Before any rule is added: URL arguments the database could not take never reach a view.
    app.url_map.converters.update(int=DatabaseIntConverter, default=TextConverter, string=TextConverter)

    from app import api

    for blueprint in blueprints_for(app.config["PORTAL_MODE"]):
        if blueprint is api.bp:
            api.register(app)  # with its OpenAPI document and its HTTPS/token guard
        else:
            app.register_blueprint(blueprint)


def register_error_handlers(app: Flask) -> None:
    from app.blueprints import errors

    errors.register(app)


def register_request_hooks(app: Flask) -> None:
    from app import request_log
    from app.blueprints import security

    security.register(app)
    request_log.install()


def register_template_helpers(app: Flask) -> None:
    from app import templating

    templating.register(app)


def register_commands(app: Flask) -> None:
    from app import cli

    cli.register(app)
