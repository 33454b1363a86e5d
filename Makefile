# `make run` and `make test` create .venv first; they need python3 (3.11+), a C/C++ compiler and cmake
# (the llama.cpp build below) on an x86-64 CPU with AVX2: README.md, "What you need".
PY      := .venv/bin/python
STAMP   := .venv/.installed
NBVAL   := --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg
# llama.cpp built for any x86-64 with AVX2: its native build picks AMX kernels that crash
# (segfault in ggml_backend_amx_mul_mat) on this machine kind. pip caches the wheel after one build.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON

.PHONY: setup run test lab bench record clean

PIPELINES := style_clone factual_qa new_pipeline

setup: $(STAMP)

# The set-up prints errors only (pip -qq): setuptools' notice on every editable install (a folder
# named like the package could shadow it) and pip's notes on a machine's own index settings are
# nothing to act on here; a failed install still stops with pip's error.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -qq --upgrade pip
	PYTHONWARNINGS='ignore:Editable installation' $(PY) -m pip install -qq -e '.[dev]'
	touch $(STAMP)

# make run MODEL=openai/qwen2.5-7b API_BASE=http://127.0.0.1:8000/v1 CHUNK_TOKENS=1500 PER_VOICE=None
# (SIGNAL_PER_VOICE=24 runs the fixed prompt on 24 passages per voice for section 7's signals, which
# need 20 accepted rewrites: 56 more calls on the embedded model. By default make run passes 0, the
# reviewed rows only, so a first run makes the 64 calls README.md times and prints no AUC.)
# (DATA=my_texts runs the pipeline on your own text: a folder with one sub-folder per voice; FOLDER=runs/x
# another run folder)
# (PROMPT=reasoning picks the zero-shot prompt for reasoning models; ANSWER_TOKENS=N sets the rewrite's
# max_tokens, by default the prompt file's or 1.5 × CHUNK_TOKENS, whichever is more)
# Each variable given becomes a notebook parameter (PROMPT names the prompt files below); API keys
# come from the environment.
PROMPT_few_shot  := -p prompt generic_v1.yaml -p prompt_fix generic.yaml
PROMPT_reasoning := -p prompt generic_reasoning.yaml -p prompt_fix generic_reasoning.yaml
RUN_PARAMS = $(if $(MODEL),-p model '$(MODEL)') $(if $(API_BASE),-p api_base '$(API_BASE)') \
             $(if $(CHUNK_TOKENS),-p chunk_tokens $(CHUNK_TOKENS)) $(if $(PER_VOICE),-p per_voice $(PER_VOICE)) \
             -p signal_per_voice $(or $(SIGNAL_PER_VOICE),0) \
             $(if $(PROMPT),$(or $(PROMPT_$(PROMPT)),$(error PROMPT=$(PROMPT): use few_shot or reasoning))) \
             $(if $(ANSWER_TOKENS),-p answer_tokens $(ANSWER_TOKENS)) \
             $(if $(DATA),-p data '$(abspath $(DATA))') $(if $(FOLDER),-p folder '$(abspath $(FOLDER))')

run: $(STAMP)  ## the style-cloning pipeline, headless (the embedded model unless MODEL= is given)
	$(PY) -m toolkit run notebooks/style_clone.ipynb $(RUN_PARAMS)

test: $(STAMP)  ## lint, unit tests, notebook regression (nbval, replayed) and the browser test
	$(PY) -m ruff check toolkit tests benchmarks
	$(PY) -m pytest tests notebooks $(NBVAL)

lab: $(STAMP)
	.venv/bin/jupyter lab notebooks

record: $(STAMP)  ## re-record the notebooks: call the model, save its answers, store replayed outputs
	for nb in $(PIPELINES); do \
	  rm -rf runs/record-$$nb && \
	  $(PY) -m toolkit run notebooks/$$nb.ipynb -p folder runs/record-$$nb && \
	  $(PY) -c "import toolkit.llm; toolkit.llm.Cache('runs/record-$$nb/cache.sqlite').export('notebooks/recordings/$$nb.jsonl')" && \
	  rm -rf runs/$$nb && \
	  $(PY) -m jupyter nbconvert --to notebook --execute --inplace notebooks/$$nb.ipynb || exit 1; \
	done

bench: $(STAMP)
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf .venv runs test-output
