"""A FHIRPath subset compiled to Python closures over FHIR JSON."""

from fhirmony.views.fhirpath.compiler import Compiled, Compiler, Env, compile_path
from fhirmony.views.fhirpath.parser import parse

__all__ = ["Compiled", "Compiler", "Env", "compile_path", "parse"]
