import ast


def load_py_data_struct(path):
    with open(path) as f:
        return ast.literal_eval(f.read())
