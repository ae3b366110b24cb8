"""Shape inference: the model every rule and renderer reads, and the one pass that builds it."""

from nosql_advisor.shape.infer import DEFAULT_MAX_PATHS, ShapeBuilder, infer_shape
from nosql_advisor.shape.model import ArrayShape, CollectionShape, FieldShape, PathCap

__all__ = [
    "DEFAULT_MAX_PATHS", "ArrayShape", "CollectionShape", "FieldShape", "PathCap",
    "ShapeBuilder", "infer_shape",
]
