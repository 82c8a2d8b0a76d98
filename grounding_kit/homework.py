"""Homework: exercises in the course sources, nbgrader courses made from them, fallbacks.

The convention for an exercise in ``notebooks/source/NN_*.py``
---------------------------------------------------------------
A cell header may end with ``key=value`` tags after the optional slide type (see
:func:`grounding_kit.course.parse_source`); the build stores them in the cell's metadata under
``"grounding_kit"``. Four roles exist, each naming its exercise id (``1.1``, ``2.3``, ``3.H1``):

``exercise=ID``  (code) the **solution cell**. It holds the setup the student needs, then the
    answer between ``### BEGIN SOLUTION`` and ``### END SOLUTION``, and nothing after the
    ``END`` marker that depends on the answer. Student copies replace the block with
    ``# YOUR CODE HERE`` / ``raise NotImplementedError``; nbgrader makes it a solution cell.

``check=ID points=P``  (code, right after the solution cell) the **graded check**: only calls
    of the kit's ``grounding_kit.checks`` functions with the student's answer and the exercise's
    inputs, which compute the reference with tested kit code when they run. No reference value
    and no solution text appear in it. Checks that should not be shown to students (extra cases
    graded at grading time) go between ``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS``;
    student and release copies drop them. ``P`` is the exercise's points (an integer);
    nbgrader makes the cell an autograded test cell worth ``P``.

``fallback=ID``  (code, optional, after the check) one line per value that later cells use::

        S = own_or_kit("1.1", "S", text_emb, image_emb)

    :func:`own_or_kit` returns the student's own ``S`` when it exists and passes the exercise's
    check, and otherwise the kit's reference value, printing one line: "exercise 1.1 not done
    yet: using the kit's S so the rest of the notebook runs". Code that uses the answer (plots,
    prints) goes after this cell, never in the solution or check cell.

``answer=ID points=P``  (markdown) a **manually graded answer** to a conceptual homework
    question asked in the markdown cell before it. Its text is the rubric for the grader
    (what earns the points, a model answer); student and release copies replace it with
    ``YOUR ANSWER HERE`` and nbgrader makes it a manually graded answer cell worth ``P``.

The explanation (markdown) cells of an exercise need no tag: in an nbgrader course every markdown
cell that is not an ``answer`` is read-only, and so are the ``check`` and ``fallback`` cells.

Example (notebook 02)::

    # %% [markdown] subslide
    # ## Exercise 2.1: the grid of an additive model
    # ...

    # %% - exercise=2.1
    f_t = np.array([2.0, -1.0, 0.5, 0.0])
    f_v = np.array([0.3, 1.2, -0.7, 0.1])
    ### BEGIN SOLUTION
    G = ...
    ### END SOLUTION

    # %% - check=2.1 points=2
    check_additive_grid(G, f_t, f_v)

    # %% - fallback=2.1
    G = own_or_kit("2.1", "G", f_t, f_v)

    # %% [markdown] - answer=2.H1 points=2
    # **Rubric (2 points).** 1 point: the residual of G is zero everywhere; 1 point: because ...

Every ``exercise`` needs exactly one ``check`` with points; ``fallback`` and ``answer`` are
optional. :func:`exercise_cells` reads the tags back and :func:`validate_exercises` refuses a
notebook that breaks these rules, naming the cell.
"""
