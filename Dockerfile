# The example project's job image: plain Python, the job code under /opt/app/job.
FROM python:3.12-slim

ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /opt/app
COPY job/ /opt/app/job/
RUN useradd --create-home --uid 1000 jobs
USER jobs

CMD ["python", "/opt/app/job/fibonacci.py"]
