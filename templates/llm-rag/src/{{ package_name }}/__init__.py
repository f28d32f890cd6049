"""Questions answered from a document collection, with citations: retrieval (dense, BM25,
hybrid) over a Qdrant index, an OpenAI-compatible LLM or an offline extractive answerer."""
