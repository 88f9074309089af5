"""How the command line reports what stops it: one clear line, exit code 2."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from trail_import_handler.errors import ImportResourceError

F = TypeVar("F", bound=Callable[..., Any])


class _Failed(click.ClickException):
    exit_code = 2


def _aws_errors(command: F) -> F:
    """Turn AWS client errors into one clear line and exit code 2."""
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except NoCredentialsError:
            raise _Failed("No AWS credentials found: set AWS_PROFILE, pass --profile or run 'aws configure'.") from None
        except ProfileNotFound as error:
            raise _Failed(f"{error}: check --profile or AWS_PROFILE.") from None
        except NoRegionError:
            raise _Failed("No AWS region: pass --region or set AWS_REGION.") from None
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            operation = getattr(error, "operation_name", "the call")
            if code in ("AccessDenied", "AccessDeniedException", "UnauthorizedOperation"):
                raise _Failed(f"Access denied calling {operation}: your credentials need permission for it "
                              f"({error.response.get('Error', {}).get('Message', '')}).") from None
            raise _Failed(f"{operation} failed: {code}: {error.response.get('Error', {}).get('Message', '')}") from None
        except (ImportResourceError, BotoCoreError) as error:
            raise _Failed(str(error)) from None
    return wrapper  # type: ignore[return-value]
