"""Writers: annotated copies of inputs. Never touch the input; write atomically."""
