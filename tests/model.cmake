# src/model.c: finite-difference check of the whole batch loss, every likelihood × activation
bivae_add_unit_test(model_grad model/test_model_grad.c LABELS model)
target_include_directories(model_grad PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/kernels)

# src/train.h's benchmark switches: trainer.max_steps and trainer.step_hook
bivae_add_unit_test(train_limits model/test_train_limits.c LABELS model)

# src/model_foldin.c: fold-in equals the encoder's own forward (bitwise) and the formula
bivae_add_unit_test(model_foldin model/test_model_foldin.c LABELS model)
target_include_directories(model_foldin PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/kernels)
