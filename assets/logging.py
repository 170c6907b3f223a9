"""A concise console logger: progress lines as they are, warnings and errors with their step."""

import logging
import sys

import dagster as dg


class _ConciseFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        meta = getattr(record, "dagster_meta", None) or {}
        message = meta.get("orig_message") or record.getMessage()
        if record.levelno >= logging.WARNING:
            step = meta.get("step_key") or ""
            return f"{record.levelname} {step}: {message}".replace(" :", ":")
        return message


@dg.logger(
    config_schema={"log_level": dg.Field(str, default_value="INFO", is_required=False)},
    description="Progress lines and the problems of a run, without Dagster's per-event prefix.",
)
def concise_console(init_context: dg.InitLoggerContext) -> logging.Logger:
    level = init_context.logger_config["log_level"]
    logger = logging.Logger("fhirmony", level=level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_ConciseFormatter())
    logger.addHandler(handler)
    return logger
